"""Import of real splat files through the extension's operator, in real Blender."""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np
import pytest
from bpy_extras.io_utils import axis_conversion

from spectralsplats_addon.blender.point_object import splats_from_object
from spectralsplats_addon.engine.io import read_splats
from spectralsplats_addon.engine.splats import SH_C0

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real_splats"
DONUT, LOD3 = REAL / "donut.ply", REAL / "lod3.ply"
FIELDS = ("means", "quats", "log_scales", "opacity_logits", "sh")


_keep_alive = []


def evaluated_geometry(obj):
    """The evaluated geometry set; its depsgraph is kept alive while the test reads it."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    evaluated = obj.evaluated_get(depsgraph)
    geometry = evaluated.evaluated_geometry()
    _keep_alive[:] = [depsgraph, evaluated, geometry]
    return geometry


def assert_same_splats(a, b):
    for name in FIELDS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), f"{name} differs"
    assert (a.normals is None) == (b.normals is None)
    if a.normals is not None:
        assert np.array_equal(a.normals, b.normals)


@pytest.mark.parametrize("path", [DONUT, LOD3], ids=["donut", "lod3"])
def test_operator_imports_every_attribute_exactly(addon, path):
    assert bpy.ops.spectralsplats.import_ply(filepath=str(path)) == {"FINISHED"}
    obj = bpy.context.view_layer.objects.active
    assert obj is not None and obj.type == "MESH" and obj.name == path.stem
    assert len(obj.data.edges) == 0 and len(obj.data.polygons) == 0  # vertex-only
    expected = read_splats(path)
    assert len(obj.data.vertices) == len(expected)
    assert_same_splats(splats_from_object(obj), expected)


def test_display_shows_points_in_their_colours(addon):
    bpy.ops.spectralsplats.import_ply(filepath=str(DONUT), display_size=2.0)
    obj = bpy.context.view_layer.objects.active
    splats = read_splats(DONUT)
    cloud = evaluated_geometry(obj).pointcloud
    assert cloud is not None and len(cloud.points) == len(splats)
    n = len(splats)
    rgba = np.empty(n * 4, dtype=np.float32)
    cloud.attributes["Col"].data.foreach_get("color_srgb", rgba)
    rgba = rgba.reshape(n, 4)
    expected_rgb = np.clip(0.5 + SH_C0 * splats.sh[:, 0, :], 0, 1)
    np.testing.assert_allclose(rgba[:, :3], expected_rgb, atol=2e-3)  # sRGB round trip
    np.testing.assert_allclose(rgba[:, 3], 1 / (1 + np.exp(-splats.opacity_logits)), atol=1e-5)
    radius = np.empty(n, dtype=np.float32)
    cloud.attributes["radius"].data.foreach_get("value", radius)
    np.testing.assert_allclose(radius, 2.0 * np.exp(splats.log_scales.max(axis=1)), rtol=1e-5)
    assert obj.data.materials[0].name == "SpectralSplats Splat"


def test_ellipsoid_display_instances_a_sphere_per_splat(addon):
    bpy.ops.spectralsplats.import_ply(filepath=str(LOD3), display="ELLIPSOIDS")
    obj = bpy.context.view_layer.objects.active
    mesh = evaluated_geometry(obj).mesh
    assert mesh is not None and len(mesh.vertices) == 12 * len(obj.data.vertices)


@pytest.mark.parametrize("forward, up", [("Y", "Z"), ("-Z", "Y"), ("Z", "-Y")])
def test_axis_convention_places_the_object(addon, forward, up):
    bpy.ops.spectralsplats.import_ply(filepath=str(LOD3), axis_forward=forward, axis_up=up)
    obj = bpy.context.view_layer.objects.active
    expected = np.array(axis_conversion(from_forward=forward, from_up=up).to_4x4())
    np.testing.assert_allclose(np.array(obj.matrix_world), expected, atol=1e-7)
    # The data stays in the file's frame; the file's up axis points up in the world.
    splats = splats_from_object(obj)
    assert np.array_equal(splats.means, read_splats(LOD3).means)
    up_vec = {"Z": (0, 0, 1), "Y": (0, 1, 0), "-Y": (0, -1, 0)}[up]
    np.testing.assert_allclose(expected[:3, :3] @ np.array(up_vec, float), (0, 0, 1), atol=1e-7)


def test_dropping_several_files_imports_each(addon):
    """A drag-and-drop calls the operator with directory + files, as the FileHandler does."""
    handler = bpy.types.SPECTRALSPLATS_FH_import_ply
    assert handler.bl_import_operator == "spectralsplats.import_ply"
    assert set(handler.bl_file_extensions.split(";")) == {".ply", ".splat"}
    result = bpy.ops.spectralsplats.import_ply(
        directory=str(REAL), files=[{"name": DONUT.name}, {"name": LOD3.name}])
    assert result == {"FINISHED"}
    names = sorted(o.name for o in bpy.context.scene.objects)
    assert names == ["donut", "lod3"]
    assert sorted(o.name for o in bpy.context.selected_objects) == names


def test_a_mesh_ply_is_refused_with_a_clear_message_and_nothing_added(addon, tmp_path):
    mesh_ply = tmp_path / "cube.ply"
    mesh_ply.write_text("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\n"
                        "property float y\nproperty float z\nelement face 1\n"
                        "property list uchar int vertex_indices\nend_header\n"
                        "0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n")
    with pytest.raises(RuntimeError, match="cube.ply") as caught:
        bpy.ops.spectralsplats.import_ply(filepath=str(mesh_ply))
    assert "opacity" in str(caught.value)  # names the missing splat properties
    assert len(bpy.context.scene.objects) == 0
    assert len(bpy.data.meshes) == 0
