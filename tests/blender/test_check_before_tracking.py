"""Check Tracking Inputs runs every check Track makes: each case that Track, the job writer or
the worker would refuse is refused by the check first, word for word, and every poll refusal
says why."""

from __future__ import annotations

from pathlib import Path

import bpy
import pytest

from spectralsplats_addon.lab.testclips import write_index_movie, write_index_sequence

LOD3 = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real_splats" / "lod3.ply"


@pytest.fixture
def scene(addon, tmp_path):
    """lod3.ply imported, a camera at the movie's 64 x 48, a 12-frame movie strip 'clip'."""
    bpy.ops.spectralsplats.import_ply(filepath=str(LOD3))
    scene = bpy.context.scene
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    scene.collection.objects.link(cam)
    scene.camera = cam
    scene.render.resolution_x, scene.render.resolution_y = 64, 48
    movie = write_index_movie(tmp_path / "clip.mp4", frames=12)
    scene.sequence_editor_create().strips.new_movie("clip", str(movie), 1, 1)
    settings = scene.spectralsplats_track
    settings.strip, settings.model, settings.output_dir = "clip", "rigid", str(tmp_path / "out")
    return scene


def check_message(capfd) -> str:
    with pytest.raises(RuntimeError) as raised:
        bpy.ops.spectralsplats.check_inputs()
    return str(raised.value)


def track_refusal() -> str:
    with pytest.raises(RuntimeError) as raised:
        bpy.ops.spectralsplats.track()
    return str(raised.value)


def test_a_camera_whose_aspect_differs_from_the_strip_is_refused_by_the_check(scene, capfd):
    scene.render.resolution_x, scene.render.resolution_y = 1920, 1080
    expected = ("the camera 'Cam' renders 1920 x 1080 (aspect 1.778) but strip 'clip' is "
                "64 x 48 (aspect 1.333): set Output Properties > Format > Resolution to "
                "64 x 48, or to the same aspect")
    assert expected in check_message(capfd)
    assert expected in track_refusal()  # Track refuses at once, with the same words


def test_a_moved_rig_is_refused_by_the_check(scene, capfd):
    assert bpy.ops.spectralsplats.rig(control_points=8) == {"FINISHED"}
    scene.spectralsplats_track.model = "direct"
    bpy.data.objects["lod3 Rig"].location.x = 0.5
    expected = ("the rig 'lod3 Rig' was moved away from 'lod3': clear its location, rotation "
                "and scale (Alt G, Alt R, Alt S), or rig again")
    assert expected in check_message(capfd)


def test_an_object_with_no_splats_is_refused_by_check_track_and_rig(scene, capfd):
    bpy.data.objects["lod3"].data.clear_geometry()
    expected = ("'lod3' holds no splats: import a .ply that has splats (File > Import > "
                "Gaussian Splat), or pick another object")
    assert expected in check_message(capfd)
    assert expected in track_refusal()
    with pytest.raises(RuntimeError) as raised:
        bpy.ops.spectralsplats.rig()
    assert expected in str(raised.value)


def test_a_tiny_resolution_is_refused_by_the_check(scene, capfd):
    scene.spectralsplats_track.resolution = 8
    assert ("Resolution 8 px is too small to track: set Resolution to 16 or more (0 uses the "
            "footage's own size)") in check_message(capfd)


def test_an_orthographic_camera_is_refused_by_the_check(scene, capfd):
    scene.camera.data.type = "ORTHO"
    assert ("camera 'Cam' is ortho: only perspective cameras are supported; set Lens > Type "
            "to Perspective") in check_message(capfd)


def test_ready_for_an_image_strip_names_its_first_and_last_images(scene, tmp_path, capfd):
    files = write_index_sequence(tmp_path / "seq", frames=5)
    strip = scene.sequence_editor.strips.new_image("seq", str(files[0]), 2, 1)
    for path in files[1:]:
        strip.elements.append(Path(path).name)
    scene.spectralsplats_track.strip = "seq"
    assert bpy.ops.spectralsplats.check_inputs() == {"FINISHED"}
    assert ("Ready: 5 frames (1-5) of 'seq' (images frame_0001.png to frame_0005.png) seen by "
            "'Cam' at 64 x 48") in capfd.readouterr().out


def test_track_in_edit_mode_says_why_it_refuses(scene):
    bpy.context.view_layer.objects.active = bpy.data.objects["lod3"]
    bpy.ops.object.mode_set(mode="EDIT")
    expected = "Works in Object Mode only, and this is Edit Mesh: switch to Object Mode (Tab)"
    assert expected in track_refusal()
    with pytest.raises(RuntimeError) as raised:
        bpy.ops.spectralsplats.rig()
    assert expected in str(raised.value)
    bpy.ops.object.mode_set(mode="OBJECT")


def test_cancel_without_a_run_says_why_it_refuses(scene):
    with pytest.raises(RuntimeError) as raised:
        bpy.ops.spectralsplats.track_cancel()
    assert "No tracking run is in progress" in str(raised.value)
