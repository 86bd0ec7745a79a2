"""A movie whose frame rate differs from the scene's, added as a user adds it (Add > Movie,
"Adjust Playback Rate" on by default): each scene frame's footage frame is the one Blender's
own sequencer render shows, read back from the index painted into every movie frame."""

from __future__ import annotations

import bpy
import numpy as np
import pytest

from spectralsplats_addon.blender.strip_source import StripError, strip_frames
from spectralsplats_addon.lab.testclips import decode_index, write_index_movie


def in_sequencer(scene):
    """A context override for a Video Sequencer area showing ``scene``, as the menus run."""
    window = bpy.context.window_manager.windows[0]
    if hasattr(window.workspace, "sequencer_scene"):  # Blender 5.0+
        window.workspace.sequencer_scene = scene
    area = window.screen.areas[0]
    area.type = "SEQUENCE_EDITOR"
    region = next(r for r in area.regions if r.type == "WINDOW")
    return bpy.context.temp_override(window=window, area=area, region=region)


def add_movie(scene, path, frame_start: int, adjust_playback_rate: bool):
    """Add > Movie in a Video Sequencer area, as the menu runs it."""
    with in_sequencer(scene):
        assert bpy.ops.sequencer.movie_strip_add(
            filepath=str(path), frame_start=frame_start, channel=1, sound=False,
            adjust_playback_rate=adjust_playback_rate, use_framerate=False,
            set_view_transform=False, move_strips=False) == {"FINISHED"}
    return scene.sequence_editor.strips_all[path.name]


def shown_by_blender(scene, frame: int, tmp_path) -> int:
    """The movie frame index Blender's sequencer renders at scene frame ``frame``."""
    scene.frame_set(frame)
    scene.render.filepath = str(tmp_path / f"vse_{frame}.png")
    bpy.ops.render.render(write_still=True)
    image = bpy.data.images.load(scene.render.filepath)
    pixels = np.array(image.pixels[:], dtype=np.float32).reshape(image.size[1], image.size[0], 4)
    bpy.data.images.remove(image)
    return decode_index(pixels[::-1, :, :3])


@pytest.fixture
def scene_24fps(addon):
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 24, 1.0
    scene.render.resolution_x, scene.render.resolution_y = 64, 48
    scene.render.resolution_percentage = 100
    scene.render.use_sequencer = True
    scene.render.image_settings.file_format = "PNG"
    scene.view_settings.view_transform = "Standard"
    scene.sequence_editor_create()
    return scene


@pytest.mark.parametrize("adjust", [True, False])
def test_a_30_fps_movie_in_a_24_fps_scene_maps_as_blender_plays_it(scene_24fps, tmp_path,
                                                                     adjust):
    movie = write_index_movie(tmp_path / "clip30.mp4", frames=30, fps=30, gop=1)
    strip = add_movie(scene_24fps, movie, frame_start=101, adjust_playback_rate=adjust)
    strip.frame_offset_start = 2  # trimmed as well: the strip shows from frame 103
    assert strip.frame_final_duration == (22 if adjust else 28)
    first, last = strip.frame_final_start, strip.frame_final_end - 1
    ours = {f.scene_frame: f.index for f in strip_frames(strip, first, last)}
    checked = [first, first + 1, first + 3, (first + last) // 2, last]
    blender = {f: shown_by_blender(scene_24fps, f, tmp_path) for f in checked}
    assert {f: ours[f] for f in checked} == blender
    if adjust:  # 1.25 movie frames a scene frame: the footage runs ahead of the frame count
        assert ours[last] - ours[first] > last - first
    assert len(bpy.data.movieclips) == 0  # the frame count left nothing behind


def test_a_retimed_strip_is_refused_with_the_fix(scene_24fps, tmp_path):
    movie = write_index_movie(tmp_path / "clip.mp4", frames=12, fps=24)
    strip = add_movie(scene_24fps, movie, frame_start=1, adjust_playback_rate=True)
    strip.select, scene_24fps.sequence_editor.active_strip = True, strip
    with in_sequencer(scene_24fps):  # Strip > Retiming > Set Speed
        assert bpy.ops.sequencer.retiming_segment_speed_set(speed=50) == {"FINISHED"}
    with pytest.raises(StripError) as raised:
        strip_frames(strip, 1, 6)
    assert str(raised.value) == (
        "strip 'clip.mp4' is retimed (it has retiming keys), which the tracker cannot "
        "follow: clear them (Strip > Retiming > Reset Retiming), or render the retimed strip "
        "to a movie and track that")
