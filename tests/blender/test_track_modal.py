"""The modal path, driven by the code its timer calls (``TrackSession.update``): progress in
the window manager, cancel mid-run stops the worker within 2 s and leaves the scene exactly
as it was, a run to the end bakes and reports, and the Cancel button's flag."""

from __future__ import annotations

import time

import bpy
import pytest

from spectralsplats_addon.blender.armature_rig import find_rig
from spectralsplats_addon.blender.keyframes import fcurves_of
from spectralsplats_addon.blender.track_operator import start_session
from support.blender_scene import CONTROL_POINTS, make_shot, scene_state


def update_until(session, condition, timeout: float = 60.0) -> str:
    """Calls session.update as the modal timer does until condition() or the run ends."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        state = session.update(bpy.context)
        if state != "RUNNING" or condition():
            return state
        time.sleep(0.05)
    pytest.fail(f"no progress within {timeout} s: {session.status}")


def test_cancel_after_the_first_progress_stops_the_worker_and_changes_nothing(addon, tmp_path):
    make_shot(tmp_path, frames=3, iterations=1000)
    before = scene_state()
    wm = bpy.context.window_manager
    session = start_session(bpy.context)
    assert wm.spectralsplats_track_running
    # the first-frame alignment comes first and has no share of the job's fraction
    assert update_until(session, lambda: session.fraction > 0) == "RUNNING"
    assert wm.spectralsplats_track_progress == pytest.approx(session.fraction)
    assert 0.0 < session.fraction < 0.5
    assert wm.spectralsplats_track_status.startswith("Frame 1 (1/3), iteration ")

    assert session.cancel(bpy.context) == "CANCELLED"
    assert session.worker.returncode == 4  # stopped by the signal, not killed
    assert session.update(bpy.context) == "CANCELLED"
    level, text = session.messages[-1]
    assert level == "WARNING" and text.startswith("Tracking cancelled after 0 of 3 frames; "
                                                  "nothing was baked. The job and any partial "
                                                  "result are in ")
    assert scene_state() == before
    assert (session.scene_job.folder / "job.json").is_file()  # the job stays on disk
    assert not wm.spectralsplats_track_running and wm.spectralsplats_track_status == ""


def test_updates_to_the_end_show_rising_progress_then_bake(addon, tmp_path):
    shot = make_shot(tmp_path, frames=2, iterations=30)
    wm = bpy.context.window_manager
    session = start_session(bpy.context)
    seen = []

    def record_progress() -> bool:
        seen.append(wm.spectralsplats_track_progress)
        return False  # run to the end

    state = update_until(session, record_progress)
    assert state == "FINISHED"
    assert seen == sorted(seen) and seen[-1] > 0.5
    assert session.counts["frame_finished"] == 2 and session.counts["finished"] == 1
    level, text = session.messages[-1]
    assert level == "INFO" and text.startswith("Tracked 2 frames of 'asset' (PSNR ")
    assert text.endswith(f"; baked 2 frames into {CONTROL_POINTS * 7} channels of 'asset Rig'")
    fcurves = fcurves_of(find_rig(shot.obj), "unused")
    assert {tuple(k.co[0] for k in fc.keyframe_points) for fc in fcurves} == {(1.0, 2.0)}
    assert not wm.spectralsplats_track_running


def test_the_cancel_button_raises_the_flag_the_timer_reads(addon, tmp_path):
    make_shot(tmp_path, frames=2, iterations=1000)
    wm = bpy.context.window_manager
    assert not bpy.ops.spectralsplats.track_cancel.poll()  # nothing to cancel
    session = start_session(bpy.context)
    assert not bpy.ops.spectralsplats.track.poll()  # one run at a time
    assert bpy.ops.spectralsplats.track_cancel() == {"FINISHED"}
    assert wm.spectralsplats_track_cancel
    assert session.cancel(bpy.context) == "CANCELLED"
    assert not wm.spectralsplats_track_cancel and bpy.ops.spectralsplats.track.poll()


class RecordingLayout:
    """A stand-in for bpy.types.UILayout that records what a panel draws."""

    def __init__(self, calls=None):
        self.calls = [] if calls is None else calls

    def row(self, **kw):
        return RecordingLayout(self.calls)

    def operator(self, idname, **kw):
        self.calls.append(("operator", idname))

    def progress(self, factor, type, text):
        self.calls.append(("progress", round(factor, 3), text))

    def label(self, text, **kw):
        self.calls.append(("label", text))


def test_the_panel_shows_track_when_idle_and_progress_with_cancel_while_running(addon):
    from spectralsplats_addon.blender.panel import draw_track_controls

    wm = bpy.context.window_manager
    idle = RecordingLayout()
    draw_track_controls(idle, wm)
    assert idle.calls == [("operator", "spectralsplats.track")]
    wm.spectralsplats_track_running, wm.spectralsplats_track_progress = True, 0.25
    wm.spectralsplats_track_status = "Frame 2 (2/8), iteration 10/150 (spectral), 25%"
    busy = RecordingLayout()
    draw_track_controls(busy, wm)
    wm.spectralsplats_track_running = False
    assert busy.calls == [("progress", 0.25, "25%"), ("operator", "spectralsplats.track_cancel"),
                          ("label", "Frame 2 (2/8), iteration 10/150 (spectral), 25%")]


def test_a_frame_whose_psnr_is_not_finite_is_shown_as_nan():
    """The worker writes NaN and infinite PSNR as JSON null (a frame matched exactly)."""
    import math

    from spectralsplats_addon.blender.track_operator import TrackSession

    lines = []
    session = TrackSession("splats", None, None, bake=False, echo=lines.append)
    session.handle({"event": "frame_finished", "frame": 7, "index": 0, "count": 2,
                    "loss": 0.0, "psnr": None})
    assert session.frames_done == 1 and math.isnan(session.psnr[7])
    assert lines == ["SpectralSplats: frame 7 done (1/2), PSNR nan dB"]


def test_the_plate_warning_is_reported_once_before_the_first_frame():
    """Neither a matte nor a background: the worker's plate event carries a warning that the
    operator reports (and echoes) as it arrives, before any frame is tracked."""
    from spectralsplats_addon.blender.track_operator import TrackSession

    lines, reports = [], []
    session = TrackSession("splats", None, None, bake=False, echo=lines.append,
                           report=lambda level, text: reports.append((level, text)))
    session.handle({"event": "plate", "background": "colour", "appearance": "clip",
                    "alpha": False, "warning": "the footage has no alpha and ..."})
    session.handle({"event": "plate", "background": "clean_plate", "appearance": "clip",
                    "alpha": False, "warning": None})
    assert reports == [({"WARNING"}, "the footage has no alpha and ...")]
    assert lines == ["SpectralSplats: warning: the footage has no alpha and ..."]
    assert session.plate["background"] == "clean_plate" and session.frames_done == 0
