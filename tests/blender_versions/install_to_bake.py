"""Run by one Blender release's Python (bpy module), never by the tracker's interpreter:

    python install_to_bake.py EXTENSION_ZIP SHOT_JSON OUT_DIR

Installs the zip into the user folder named by BLENDER_USER_RESOURCES, names the tracker's
Python in the extension's preferences, then imports the shot's asset (with the extension's
importer, or on 5.3+ with Blender's own PLY importer), rigs it, adds the movie as a strip,
tracks and bakes through the installed operators. Writes OUT_DIR/report.json and, per baked
frame, the evaluated splat positions (and on 5.3+ orientations) in OUT_DIR/evaluated.npz.
"""

import json
import sys

import bpy
import numpy as np
from mathutils import Matrix


def evaluated_splats(obj, native: bool, display_modifier: str):
    """Object-local positions [N, 3] as evaluated and, for native splats (5.3+), the evaluated
    point cloud's rotations [N, 4]; before 5.3, the mesh under the display modifier."""
    if native:
        evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
        geometry = evaluated.evaluated_geometry()  # holds the cloud while it is read
        attributes = geometry.pointcloud.attributes
        count = len(attributes["position"].data)
        positions = np.empty(count * 3, dtype=np.float32)
        attributes["position"].data.foreach_get("vector", positions)
        rotations = np.empty(count * 4, dtype=np.float32)
        attributes["rotation"].data.foreach_get("value", rotations)
        return positions.reshape(-1, 3), rotations.reshape(-1, 4)
    obj.modifiers[display_modifier].show_viewport = False
    mesh = obj.evaluated_get(bpy.context.evaluated_depsgraph_get()).data
    positions = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", positions)
    obj.modifiers[display_modifier].show_viewport = True
    return positions.reshape(-1, 3), None


def main(zip_path: str, shot_path: str, out_dir: str) -> None:
    with open(shot_path) as f:
        shot = json.load(f)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    installed = bpy.ops.extensions.package_install_files(
        filepath=zip_path, repo="user_default", enable_on_install=True)
    package = bpy.types.SPECTRALSPLATS_OT_track.__module__.rsplit(".", 2)[0]
    module = lambda name: sys.modules[f"{package}.{name}"]  # noqa: E731
    bpy.context.preferences.addons[package].preferences.tracker_python = shot["tracker_python"]

    if shot["importer"] == "blender":
        imported = bpy.ops.wm.ply_import(filepath=shot["ply"])
    else:
        imported = bpy.ops.spectralsplats.import_ply(filepath=shot["ply"])
    imported_obj = bpy.context.view_layer.objects.active
    imported_type = imported_obj.type
    rigged = bpy.ops.spectralsplats.rig(control_points=shot["control_points"])
    obj = bpy.context.view_layer.objects.active

    scene = bpy.context.scene
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    scene.collection.objects.link(cam)
    cam.matrix_world = Matrix(shot["camera"]["matrix_world"])
    for key in ("lens", "sensor_width", "sensor_height", "sensor_fit", "clip_start", "clip_end"):
        setattr(cam.data, key, shot["camera"][key])
    scene.camera = cam
    scene.render.resolution_x = shot["camera"]["resolution_x"]
    scene.render.resolution_y = shot["camera"]["resolution_y"]
    scene.render.resolution_percentage = 100
    editor = scene.sequence_editor_create()
    module("blender.compat").top_strips(editor).new_movie("clip", shot["movie"], 1, 1)

    settings = scene.spectralsplats_track
    settings.strip, settings.preset, settings.iterations = "clip", "fast", shot["iterations"]
    settings.resolution, settings.device, settings.output_dir = 0, "cpu", shot["out"]
    tracked = bpy.ops.spectralsplats.track()

    rig = module("blender.armature_rig").find_rig(obj)
    fcurves = module("blender.keyframes").fcurves_of(rig, "x")
    frames = sorted({k.co[0] for fc in fcurves for k in fc.keyframe_points})
    native = module("blender.compat").has_native_splats()
    evaluated = {}
    for frame in frames:
        scene.frame_set(int(frame))
        positions, rotations = evaluated_splats(obj, native,
                                                module("blender.display_nodes").MODIFIER_NAME)
        evaluated[f"positions_{int(frame)}"] = positions
        if rotations is not None:
            evaluated[f"rotations_{int(frame)}"] = rotations
    np.savez(f"{out_dir}/evaluated.npz", **evaluated)

    evaluated_obj = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    geometry = evaluated_obj.evaluated_geometry() if native else None
    cloud = geometry.pointcloud if geometry is not None else None
    report = {
        "blender": bpy.app.version_string,
        "python": list(sys.version_info[:2]),
        "python_executable": sys.executable,
        "install": sorted(installed),
        "package": package,
        "operator_module": bpy.types.SPECTRALSPLATS_OT_rig.__module__,
        "import": sorted(imported),
        "imported_type": imported_type,
        "rig": sorted(rigged),
        "object": obj.name,
        "object_type": obj.type,
        "evaluated_splat_type": cloud.type if cloud is not None else None,
        "track": sorted(tracked),
        "tracker_python": module("blender.preferences").tracker_python(bpy.context),
        "fcurves": len(fcurves),
        "keyed_frames": frames,
        "native_splats": native,
        "torch_loaded": "torch" in sys.modules,
    }
    with open(f"{out_dir}/report.json", "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
