"""Track: write the job, run the worker, show its progress, bake the result.

``TrackSession`` holds one run: the job folder, the worker process and what its events have
said. ``session.update(context)`` drains the events and returns "RUNNING", "FINISHED",
"CANCELLED" or "FAILED"; the modal operator calls it from a window-manager timer, background
mode (``bpy.app.background``) calls it in a loop until the run ends, and tests call it
directly. Only the main thread calls it: the worker's events arrive on a queue.

Progress lives in window-manager properties (not saved with the file) that the panel shows
with ``layout.progress``; the status bar gets frame and ETA text. Cancel (Esc, the Cancel
button) and failure leave the scene as it was: nothing is keyed and no data-block is added;
the job folder and any partial result stay on disk. When the run completes, the result is
baked (bake.py) inside the operator, which is one undo step.
"""

from __future__ import annotations

import time
from collections import Counter

import bpy
from bpy.props import BoolProperty, FloatProperty, StringProperty
from bpy.types import Operator

from ..engine.progress import format_seconds
from ..engine.vocabulary import EventKind, ExitCode
from .operator_errors import report_bug, reports_errors

RUNNING, FINISHED, CANCELLED, FAILED = "RUNNING", "FINISHED", "CANCELLED", "FAILED"
TIMER_SECONDS = 0.15
ECHO_SECONDS = 1.0  # background mode prints a progress line at most this often


class TrackSession:
    """One tracking run of one splat object (see the module docstring)."""

    def __init__(self, object_name: str, scene_job, worker, bake: bool, report=None,
                 echo=None) -> None:
        self.object_name = object_name
        self.scene_job = scene_job        # job_from_scene.SceneJob
        self.worker = worker              # worker_process.WorkerProcess
        self.bake = bake
        self.state = RUNNING
        self.fraction = 0.0               # of the whole job, 0..1
        self.status = "Starting the tracker"
        self.frames_done = 0
        self.psnr: dict[int, float] = {}  # scene frame -> final PSNR (dB)
        self.finished: dict | None = None  # the worker's "finished" event
        self.error: dict | None = None     # the worker's "error" event
        self.plate: dict | None = None     # the worker's "plate" event (docs/job-format.md)
        self.messages: list[tuple[str, str]] = []  # (level, text) of every report
        self.counts: Counter = Counter()   # events received, by kind
        self._report = report
        self._echo = echo
        self._echoed = 0.0

    @property
    def frame_count(self) -> int:
        return len(self.scene_job.job.frames)

    def report(self, level: str, text: str) -> None:
        self.messages.append((level, text))
        if self._report is not None:
            self._report({level}, text)

    def echo(self, text: str, force: bool = True) -> None:
        now = time.monotonic()
        if self._echo is not None and (force or now - self._echoed >= ECHO_SECONDS):
            self._echoed = now
            self._echo(f"SpectralSplats: {text}")

    # -- events -----------------------------------------------------------------------------

    def handle(self, event: dict) -> None:
        """Updates the state from one worker event (docs/job-format.md)."""
        kind = event.get("event")
        self.counts[kind] += 1
        if kind == EventKind.STARTED:
            resumed = int(event.get("resumed_frames", 0))
            self.status = f"Tracking {self.frame_count} frames on {event.get('device', '?')}" + \
                (f" (resuming after {resumed})" if resumed else "")
            self.echo(self.status)
        elif kind == EventKind.PLATE:
            self.plate = event
            if event.get("warning"):  # neither a matte nor a background: say so, once
                self.report("WARNING", event["warning"])
                self.echo(f"warning: {event['warning']}")
        elif kind == EventKind.FRAME_STARTED:
            self.status = f"Frame {event['frame']} ({event['index'] + 1}/{event['count']})"
        elif kind == EventKind.PROGRESS:
            self.fraction = min(max(float(event.get("fraction", self.fraction)), 0.0), 1.0)
            eta = event.get("eta_seconds")
            self.status = (f"Frame {event['frame']} ({event['index'] + 1}/{event['count']}), "
                           f"iteration {event['iteration']}/{event['iterations']} "
                           f"({event.get('phase', '')}), {self.fraction:.0%}"
                           + ("" if eta is None else f", ETA {format_seconds(eta, clock=False)}"))
            self.echo(self.status, force=False)
        elif kind == EventKind.FRAME_FINISHED:
            self.frames_done = int(event["index"]) + 1
            psnr = event.get("psnr")  # null for NaN or infinity (JSON has neither)
            self.psnr[int(event["frame"])] = float("nan") if psnr is None else float(psnr)
            self.echo(f"frame {event['frame']} done ({self.frames_done}/{event['count']}), "
                      f"PSNR {self.psnr[int(event['frame'])]:.2f} dB")
        elif kind == EventKind.FINISHED:
            self.finished = event
            self.frames_done = int(event.get("frames_done", self.frames_done))
        elif kind == EventKind.ERROR:
            self.error = event
        elif kind == EventKind.OUTPUT:
            self.echo(f"worker: {event.get('text', '')}")

    def update(self, context) -> str:
        """Drains the worker's events, shows progress, and ends the run once the worker has
        exited (baking a complete result if asked). Returns the state."""
        if self.state != RUNNING:
            return self.state
        for event in self.worker.poll():
            self.handle(event)
        show_progress(context, self.fraction, self.status)
        if not self.worker.done:
            return RUNNING
        return self._end(context)

    def cancel(self, context) -> str:
        """Stops the worker (it keeps its partial result) and ends the run, scene untouched."""
        if self.state != RUNNING:
            return self.state
        self.worker.cancel()
        for event in self.worker.poll():
            self.handle(event)
        return self._close(context, CANCELLED, "WARNING",
                           f"Tracking cancelled after {self.frames_done} of {self.frame_count} "
                           f"frames; nothing was baked. The job and any partial result are in "
                           f"{self.scene_job.folder}")

    # -- the end --------------------------------------------------------------------------

    def _close(self, context, state: str, level: str, text: str) -> str:
        self.state = state
        clear_progress(context)
        self.report(level, text)
        self.echo(text)
        return state

    def _failure_text(self) -> str:
        code = self.worker.returncode
        if self.error is not None:
            return f"Tracking failed: {self.error.get('message', 'no message')}"
        tail = self.worker.log_tail(3)
        return (f"Tracking failed: the tracker stopped with exit code {code} without a result"
                + (f": {tail}" if tail else "") + f" (log: {self.scene_job.folder / 'worker.log'})")

    def _end(self, context) -> str:
        code = self.worker.returncode
        if code == ExitCode.STOPPED:
            return self._close(context, CANCELLED, "WARNING",
                               f"The tracker was stopped after {self.frames_done} of "
                               f"{self.frame_count} frames; nothing was baked. The partial "
                               f"result is in {self.scene_job.folder}")
        if code != ExitCode.COMPLETE or self.finished is None or not self.finished.get("complete"):
            return self._close(context, FAILED, "ERROR", self._failure_text())
        return self._bake(context)

    def _bake(self, context) -> str:
        from ..engine.result import ResultError, TrackResult
        from .bake import BakeError, bake_result

        path = self.finished.get("result") or str(self.scene_job.result_path)
        try:
            result = TrackResult.load(path)
        except (ResultError, OSError) as error:
            return self._close(context, FAILED, "ERROR", f"Tracking finished but its result "
                               f"cannot be read: {error}")
        summary = f"Tracked {result.num_frames} frames of {self.object_name!r}"
        psnr = [p for p in result.psnr.tolist() if p == p]
        if psnr:
            summary += f" (PSNR {min(psnr):.1f} to {max(psnr):.1f} dB)"
        if not self.bake:
            return self._close(context, FINISHED, "INFO", f"{summary}; result in {path} (bake it "
                               "with Object > Bake Tracked Motion)")
        obj = context.blend_data.objects.get(self.object_name)
        if obj is None:
            return self._close(context, FAILED, "ERROR", f"{summary}, but the object "
                               f"{self.object_name!r} is gone: bake {path} with Object > Bake "
                               "Tracked Motion")
        try:
            baked = bake_result(obj, result)
        except BakeError as error:
            return self._close(context, FAILED, "ERROR", f"{summary}, but baking failed: {error}")
        return self._close(context, FINISHED, "INFO", f"{summary}; baked {baked.frames} frames "
                           f"into {baked.fcurves} channels of {baked.target!r}")


# -- progress in the window manager and the status bar -----------------------------------

def show_progress(context, fraction: float, text: str) -> None:
    wm = context.window_manager
    wm.spectralsplats_track_running = True
    wm.spectralsplats_track_progress = fraction
    wm.spectralsplats_track_status = text
    if context.workspace is not None:
        context.workspace.status_text_set(f"SpectralSplats: {text} (Esc to cancel)")
    screen = getattr(context, "screen", None)
    for area in (screen.areas if screen is not None else ()):
        if area.type == "VIEW_3D":
            area.tag_redraw()


def clear_progress(context) -> None:
    wm = context.window_manager
    wm.spectralsplats_track_running = False
    wm.spectralsplats_track_cancel = False
    wm.spectralsplats_track_progress = 0.0
    wm.spectralsplats_track_status = ""
    if context.workspace is not None:
        context.workspace.status_text_set(None)


# -- starting and running a session -----------------------------------------------------

def start_session(context, report=None, echo=None, python: str | None = None) -> TrackSession:
    """Resolves the Track panel's inputs, writes the job and starts the worker.

    python: the worker's interpreter (default: the preferences' tracker_python, checked to
    have torch). Raises ValueError, SpectralSplatsError (StripError, CameraError, JobError,
    TrackInputError, WorkerError) or OSError, each saying what to do.
    """
    from .job_from_scene import write_scene_job
    from .preferences import tracker_python
    from .track_settings import resolve_inputs
    from .worker_process import WorkerProcess, check_tracker_python

    settings = context.scene.spectralsplats_track
    inputs = resolve_inputs(context, settings)
    scene_job = write_scene_job(context, inputs, settings)
    python = check_tracker_python(python or tracker_python(context))
    worker = WorkerProcess.start(python, scene_job.folder)
    context.window_manager.spectralsplats_track_cancel = False
    session = TrackSession(inputs.target.name, scene_job, worker, settings.bake, report, echo)
    show_progress(context, 0.0, session.status)
    return session


def run_to_completion(session: TrackSession, context, poll_seconds: float = 0.1) -> str:
    """Background mode: updates the session until the run ends (Ctrl+C cancels it)."""
    try:
        while session.update(context) == RUNNING:
            time.sleep(poll_seconds)
    except KeyboardInterrupt:
        session.cancel(context)
    except BaseException:
        session.cancel(context)  # never leave a worker running or the panel busy
        raise
    return session.state


def _print(text: str) -> None:
    print(text, flush=True)


class SPECTRALSPLATS_OT_track(Operator):
    """Track the splat object's motion against the video strip in a separate process, then
    bake it into keyframes (Esc cancels and leaves the scene as it was)"""

    bl_idname = "spectralsplats.track"
    bl_label = "Track"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        if context.window_manager.spectralsplats_track_running:
            cls.poll_message_set("A tracking run is in progress: wait for it or cancel it")
            return False
        return context.scene is not None and context.mode == "OBJECT"

    @reports_errors
    def execute(self, context):
        background = bpy.app.background or context.window is None
        try:
            session = start_session(context, report=self.report,
                                    echo=_print if background else None)
        except OSError as error:
            self.report({"ERROR"}, f"could not write the tracking job ({error}): choose another "
                                   "Output folder in the Track panel")
            return {"CANCELLED"}
        if background:
            return {"FINISHED"} if run_to_completion(session, context) == FINISHED \
                else {"CANCELLED"}
        self._session = session
        self._timer = context.window_manager.event_timer_add(TIMER_SECONDS, window=context.window)
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        session = self._session
        if (event.type == "ESC" and event.value == "PRESS") or \
                context.window_manager.spectralsplats_track_cancel:
            session.cancel(context)
        elif event.type != "TIMER":
            return {"PASS_THROUGH"}
        try:
            state = session.update(context)
        except BaseException as error:
            session.cancel(context)  # never leave a worker running or the panel busy
            context.window_manager.event_timer_remove(self._timer)
            if isinstance(error, Exception):
                return report_bug(self, error)
            raise
        if state == RUNNING:
            return {"PASS_THROUGH"}
        context.window_manager.event_timer_remove(self._timer)
        return {"FINISHED"} if state == FINISHED else {"CANCELLED"}

    def cancel(self, context):
        """Blender ends the operator (file closed, Blender quitting): stop the worker."""
        self._session.cancel(context)
        context.window_manager.event_timer_remove(self._timer)


class SPECTRALSPLATS_OT_track_cancel(Operator):
    """Stop the running tracker; nothing is baked and the scene stays as it was"""

    bl_idname = "spectralsplats.track_cancel"
    bl_label = "Cancel Tracking"

    @classmethod
    def poll(cls, context):
        return context.window_manager.spectralsplats_track_running

    def execute(self, context):
        context.window_manager.spectralsplats_track_cancel = True
        return {"FINISHED"}


classes = (SPECTRALSPLATS_OT_track, SPECTRALSPLATS_OT_track_cancel)

_WM_PROPERTIES = {
    "spectralsplats_track_running": lambda: BoolProperty(default=False),
    "spectralsplats_track_cancel": lambda: BoolProperty(default=False),
    "spectralsplats_track_progress": lambda: FloatProperty(min=0.0, max=1.0, subtype="FACTOR"),
    "spectralsplats_track_status": lambda: StringProperty(default=""),
}


def register_properties() -> None:
    """Run-time state on the window manager (never saved with the .blend)."""
    for name, make in _WM_PROPERTIES.items():
        setattr(bpy.types.WindowManager, name, make())


def unregister_properties() -> None:
    for name in _WM_PROPERTIES:
        delattr(bpy.types.WindowManager, name)

