"""Track panel inputs: strips to footage frames, and clear errors for what cannot be tracked."""

from __future__ import annotations

from pathlib import Path

import bpy
import pytest

from spectralsplats_addon.blender.strip_source import StripError, strip_frames
from spectralsplats_addon.lab.testclips import write_index_movie, write_index_sequence

LOD3 = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real_splats" / "lod3.ply"


@pytest.fixture
def scene_with_splats(addon):
    bpy.ops.spectralsplats.import_ply(filepath=str(LOD3))
    scene = bpy.context.scene
    cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam"))
    scene.collection.objects.link(cam)
    scene.camera = cam
    return scene


def test_movie_strip_frames_follow_the_strip_timing(scene_with_splats, tmp_path):
    movie = write_index_movie(tmp_path / "clip.mp4", frames=20)
    strip = scene_with_splats.sequence_editor_create().strips.new_movie(
        "clip", str(movie), channel=1, frame_start=10)
    strip.frame_offset_start = 3   # trimmed: the strip now shows from scene frame 13
    frames = strip_frames(strip, 13, 16)
    assert [(f.scene_frame, f.index) for f in frames] == [(13, 3), (14, 4), (15, 5), (16, 6)]
    assert {f.kind for f in frames} == {"movie"} and frames[0].path == str(movie)
    with pytest.raises(StripError, match=r"frames 12-16 are outside strip 'clip', which shows "
                                         r"frames 13-29"):
        strip_frames(strip, 12, 16)


def test_image_strip_frames_are_blenders_elements(scene_with_splats, tmp_path):
    files = write_index_sequence(tmp_path / "seq", frames=5)
    editor = scene_with_splats.sequence_editor_create()
    strip = editor.strips.new_image("seq", str(files[0]), channel=1, frame_start=1)
    for path in files[1:]:
        strip.elements.append(Path(path).name)
    frames = strip_frames(strip, 2, 4)
    assert [Path(f.path).name for f in frames] == [Path(p).name for p in files[1:4]]


def test_check_inputs_reports_ready_for_a_good_scene(scene_with_splats, tmp_path, capfd):
    movie = write_index_movie(tmp_path / "clip.mp4", frames=12)
    scene_with_splats.sequence_editor_create().strips.new_movie("clip", str(movie), 1, 1)
    settings = scene_with_splats.spectralsplats_track
    settings.strip, settings.model = "clip", "rigid"
    assert bpy.ops.spectralsplats.check_inputs() == {"FINISHED"}
    assert "Ready: 12 frames (1-12) of 'clip' (movie frames 0-11)" in capfd.readouterr().out


@pytest.mark.parametrize("problem, message", [
    ("no strip", "no video strip is chosen"),
    ("sound strip", "is a sound strip: pick a movie or image strip"),
    ("missing movie", "the movie of strip 'clip' is missing"),
    ("no camera", "the scene has no camera"),
    ("no rig", "has no rig, which the direct model moves"),
])
def test_check_inputs_gives_a_clear_error(scene_with_splats, tmp_path, problem, message):
    settings = scene_with_splats.spectralsplats_track
    editor = scene_with_splats.sequence_editor_create()
    movie = write_index_movie(tmp_path / "clip.mp4", frames=8)
    editor.strips.new_movie("clip", str(movie), 1, 1)
    settings.strip, settings.model = "clip", "rigid"
    if problem == "no strip":
        settings.strip = ""
    elif problem == "sound strip":
        from spectralsplats_addon.lab.testclips import write_audio_only

        audio = write_audio_only(tmp_path / "tone.wav")
        editor.strips.new_sound("tone", str(audio), 2, 1)
        settings.strip = "tone"
    elif problem == "missing movie":
        movie.unlink()
    elif problem == "no camera":
        scene_with_splats.camera = None
    elif problem == "no rig":
        settings.model = "direct"
    with pytest.raises(RuntimeError, match=message):
        bpy.ops.spectralsplats.check_inputs()


def test_a_matte_strip_and_a_clean_plate_go_into_the_job(scene_with_splats, tmp_path):
    """A matte movie strip with its own timing (started later, trimmed) and a still clean
    plate strip: every frame of the job gets the matte frame its strip shows at that scene
    frame, the channel, and the clean plate; the panel's warning goes once either is given."""
    from spectralsplats_addon.blender.job_from_scene import build_job
    from spectralsplats_addon.blender.track_settings import plate_warning, resolve_inputs

    editor = scene_with_splats.sequence_editor_create()
    editor.strips.new_movie("clip", str(write_index_movie(tmp_path / "clip.mp4", frames=12)),
                            1, 1)
    matte = editor.strips.new_movie(
        "matte", str(write_index_movie(tmp_path / "matte.mp4", frames=20, matte=True)), 2, -4)
    matte.frame_offset_start = 2            # shows from scene frame -2: movie frame f + 5
    plate = write_index_sequence(tmp_path / "plate", frames=1)[0]
    still = editor.strips.new_image("plate", str(plate), 3, 1)
    still.frame_final_duration = 12
    settings = scene_with_splats.spectralsplats_track
    settings.strip, settings.model = "clip", "rigid"
    assert plate_warning(settings) is not None
    settings.matte, settings.matte_strip, settings.matte_channel = "STRIP", "matte", "luminance"
    settings.background, settings.clean_plate_strip = "clean_plate", "plate"
    settings.appearance = "frame"
    assert plate_warning(settings) is None
    inputs = resolve_inputs(bpy.context, settings)
    job, _, _ = build_job(bpy.context, inputs, settings)
    assert [(f.scene_frame, f.source.index, f.matte.source.index, f.matte.channel)
            for f in job.frames[:3]] == [(1, 0, 5, "luminance"), (2, 1, 6, "luminance"),
                                         (3, 2, 7, "luminance")]
    assert {f.clean_plate.path for f in job.frames} == {str(plate)}
    assert (job.settings.background, job.settings.appearance) == ("clean_plate", "frame")
    settings.matte_strip = "nowhere"
    with pytest.raises(StripError, match="Matte Strip: no strip named 'nowhere'"):
        resolve_inputs(bpy.context, settings)
