"""Run a job folder: job.json -> cameras, targets and settings -> track_sequence -> result.npz.

    result = run_job("shot_042", callback=print)      # TrackResult, also in shot_042/result.npz

The glue between the job format (engine/job) and the sequence tracker (engine/track/sequence.py):

- the job is loaded and validated first (``load_job``: JobError before any work starts);
- device "auto" is cuda if torch sees a CUDA device, else mps, else cpu; a device that was
  asked for and is absent raises DeviceError;
- the tracking size is the first frame's footage size scaled so its longest side is
  settings.resolution (never enlarged; None keeps the footage's size);
- each frame's camera is its BlenderCamera through ``camera_from_blender``, with the object's
  matrix folded in (the tracker works in object-local coordinates: viewmat @ matrix_world),
  scaled to the tracking size;
- the plate is compared as ``choose_plate`` says (worker/plate_inputs.py): over the frames'
  background colour, their clean plates, or the background estimated from the clip, with the
  render's colour transform on or off; a "plate" event reports the choice (and the estimate's
  reliability, and a warning where neither a matte nor a background was given);
- targets are read lazily, frame by frame: colour (+ the matte's alpha), resized to the
  tracking size, composited over the frame's background colour when that is what the render
  goes over (else left as they are: the render is composited over the clean plate or the
  estimate instead);
- ``track_sequence`` runs with checkpoint = the result path, so a partial result is on disk
  after every frame, and ``resume`` continues a partial one (complete=False).

``callback`` receives the worker's events (docs/job-format.md, "The worker"): started,
frame_started, progress (throttled), frame_finished and finished, each with "event" and
"time" (seconds since ``started_at``, default the call).
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

from ..conventions import Camera, camera_from_blender
from ..errors import DeviceError, JobError, VideoError
from ..job import LoadedJob, load_job, resolve
from ..job.model import JobFrame, JobMatte, JobSource
from .output import JobLock, prepare_result
from ..progress import CancelToken, is_cancelled
from ..result import ResultError, TrackResult
from ..track.align import ALIGN_PHASE
from ..video import composite_alpha, fit_size, luminance, open_frames, scale_camera
from ..video.background import (BackgroundEstimate, estimate_background, swallowed,
                                visible_share)
from ..video.frame import FrameImage
from ..vocabulary import DEVICES, EventKind
from .plate_inputs import PlateChoice, choose_plate, fall_back_to_raw

EventCallback = Callable[[dict], None]

PROGRESS_EVERY_ITERATIONS = 10  # a progress event at least this often (in steps) ...
PROGRESS_EVERY_SECONDS = 0.5    # ... and at least this often in time, whichever comes first
ASPECT_TOLERANCE = 0.01         # footage and camera aspect ratios may differ by this much
ESTIMATE_FRAMES = 48            # frames a background estimate reads, at most


def resolve_device(requested: str = "auto") -> str:
    """"auto" -> "cuda" if available, else "mps" if available, else "cpu". A named device
    that is not available raises DeviceError."""
    import torch

    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if requested == "auto":
        return "cuda" if cuda else ("mps" if mps else "cpu")
    if requested == "cuda" and not cuda:
        raise DeviceError("settings.device is \"cuda\" but torch sees no CUDA device (torch "
                          f"{torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); "
                          "set the device to \"auto\" or \"cpu\", or install a CUDA build of "
                          "torch on a machine with an NVIDIA GPU")
    if requested == "mps" and not mps:
        raise DeviceError("settings.device is \"mps\" but torch sees no Apple Metal device; "
                          "set the device to \"auto\" or \"cpu\"")
    if requested not in DEVICES:
        raise DeviceError(f"unknown device {requested!r}; choose {', '.join(DEVICES[:-1])} or "
                          f"{DEVICES[-1]}")
    return requested


class JobFootage:
    """The targets of a job, read on demand: ``footage(scene_frame) -> (rgb [H, W, 3],
    alpha [H, W] or None)``, float32, at the tracking ``size`` = (W, H): the first frame's
    ``source_size`` with its longest side ``resolution`` (``tracking_size``); rgb composited
    over the frame's background colour while ``over_colour`` (else as it is). Movies stay
    open between reads (one decoder per file); images are read when needed."""

    def __init__(self, loaded: LoadedJob, resolution: int | None):
        self.loaded = loaded
        self.frames = {frame.scene_frame: frame for frame in loaded.job.frames}
        self._movies: dict[str, object] = {}
        first = self.read_plain(loaded.job.frames[0].source)
        self.source_size, self.has_alpha = first.size, first.alpha is not None
        self.size = tracking_size(self.source_size, resolution)
        self.over_colour = True
        self.estimate: BackgroundEstimate | None = None
        self.visible = 0.0  # the share of pixels where frames differ from the estimate

    def clean_plate(self, scene_frame: int) -> np.ndarray:  # [H, W, 3] at the tracking size
        """The frame's clean plate, at the tracking size; VideoError when its size is not
        the footage's."""
        frame = self.frames[int(scene_frame)]
        image = self.read_plain(frame.clean_plate)
        if image.size != self.source_size:
            raise VideoError(self.path(frame.clean_plate), f"the clean plate is {image.size[0]}"
                             f" x {image.size[1]} but the footage is {self.source_size[0]} x "
                             f"{self.source_size[1]}", "give a clean plate of the footage's size")
        return image.resized(*self.size).rgb

    def estimate_background(self, most: int = ESTIMATE_FRAMES) -> BackgroundEstimate:
        """The clip's background (engine/video/background.py) from at most ``most`` of the
        job's frames, evenly spread, at the tracking size."""
        frames = list(self.loaded.job.frames)
        picks = np.unique(np.linspace(0, len(frames) - 1, min(most, len(frames))).round()
                          .astype(int))
        stack = np.stack([self.read_plain(frames[i].source).resized(*self.size).rgb
                          for i in picks])
        self.estimate = estimate_background(stack)
        self.visible = visible_share(stack, self.estimate.image)
        return self.estimate

    def backdrop(self, scene_frame: int) -> np.ndarray:  # [H, W, 3]
        """What the render of ``scene_frame`` goes over: the estimate, else its clean plate."""
        if self.estimate is not None:
            return self.estimate.image
        return self.clean_plate(scene_frame)

    def path(self, source: JobSource) -> str:
        return str(resolve(self.loaded.folder, source.path))

    def read_plain(self, source: JobSource) -> FrameImage:
        """One frame of footage at its own size."""
        path = self.path(source)
        if source.kind == "image":
            with open_frames(path) as frames:
                return frames.read(0)
        if path not in self._movies:
            self._movies[path] = open_frames(path)
        return self._movies[path].read(source.index)

    def matte_alpha(self, matte: JobMatte, size: tuple[int, int]) -> np.ndarray:  # [H, W]
        """Alpha from a matte frame: its alpha channel or its luminance (white = object)."""
        image = self.read_plain(matte.source)
        where = self.path(matte.source)
        if image.size != size:
            raise VideoError(where, f"the matte is {image.size[0]} x {image.size[1]} but its "
                                    f"footage is {size[0]} x {size[1]}",
                             "render the matte at the footage's resolution")
        if matte.channel == "alpha" or (matte.channel == "auto" and image.alpha is not None):
            if image.alpha is None:
                raise VideoError(where, "the matte has no alpha channel",
                                 "use the channel \"luminance\" for a black-and-white matte")
            return image.alpha
        return luminance(image.rgb)

    def read(self, frame: JobFrame) -> FrameImage:
        """The frame's footage with the matte's alpha, at the tracking size."""
        image = self.read_plain(frame.source)
        if frame.matte is not None:
            image = replace(image, alpha=self.matte_alpha(frame.matte, image.size))
        return image.resized(*self.size)

    def __call__(self, scene_frame: int) -> tuple[np.ndarray, np.ndarray | None]:
        frame = self.frames[int(scene_frame)]
        image = self.read(frame)
        if image.alpha is None or not self.over_colour:
            return image.rgb, image.alpha
        return composite_alpha(image.rgb, image.alpha, frame.background), image.alpha

    def close(self) -> None:
        for source in self._movies.values():
            source.close()
        self._movies.clear()


def tracking_size(footage_size: tuple[int, int], resolution: int | None) -> tuple[int, int]:
    """(W, H) the footage and renders are resampled to: longest side ``resolution``, aspect
    kept, never larger than the footage."""
    return tuple(footage_size) if resolution is None else fit_size(footage_size, resolution)


def job_cameras(loaded: LoadedJob, size: tuple[int, int]) -> list[Camera]:
    """One Camera per frame, object-local (viewmat @ asset matrix_world), at size (W, H).
    A camera whose aspect ratio is not the footage's raises JobError at its field."""
    object_to_world = np.asarray(loaded.job.asset.matrix_world, dtype=np.float64)
    cameras, problems = [], []
    for i, frame in enumerate(loaded.job.frames):
        camera = camera_from_blender(loaded.job.camera_for(frame))
        aspect, footage_aspect = camera.width / camera.height, size[0] / size[1]
        if abs(aspect / footage_aspect - 1.0) > ASPECT_TOLERANCE:
            where = "camera" if frame.camera is None else f"frames[{i}].camera"
            problems.append((where, f"the camera renders {camera.width} x {camera.height} "
                                    f"(aspect {aspect:.4f}) but the footage is resampled to "
                                    f"{size[0]} x {size[1]} (aspect {footage_aspect:.4f}); "
                                    "set the camera's resolution to the footage's"))
            continue
        local = Camera(camera.viewmat @ object_to_world, camera.K, camera.width, camera.height,
                       camera.near, camera.far)
        cameras.append(scale_camera(local, *size))
    if problems:
        raise JobError(loaded.folder, problems[:1])
    return cameras


class EventMapper:
    """track_sequence's progress events (frame = sequence index) -> the worker's events,
    with scene frames, frame_started / frame_finished and a throttled progress stream."""

    def __init__(self, callback: EventCallback | None, frames: list[int], result_path: Path,
                 started_at: float, done: int, sequential: bool):
        self.callback, self.frames, self.result_path = callback, frames, result_path
        self.started_at, self.sequential = started_at, sequential
        self.current = done - 1          # the sequence index being fitted
        self.resumed = done              # frames finished before this run
        self.last_sent, self.steps_since = -1e9, 0

    def emit(self, event: str, **fields) -> None:
        if self.callback is not None:
            self.callback({"event": event, "time": round(time.perf_counter() - self.started_at,
                                                         3), **fields})

    def frame_fields(self, index: int) -> dict:
        return {"frame": self.frames[index], "index": index, "count": len(self.frames)}

    def frame_finished(self, index: int, result: TrackResult | None = None) -> None:
        """Its loss and PSNR come from the result saved after the frame (the checkpoint)."""
        if result is None or result.num_frames <= index:
            result = TrackResult.load(self.result_path)
        self.emit(EventKind.FRAME_FINISHED, **self.frame_fields(index),
                  loss=_number(result.losses[index]), psnr=_number(result.psnr[index]))

    def __call__(self, progress: dict) -> None:
        index, count = progress["frame"], len(self.frames)
        iteration, iterations = progress["iteration"], progress["iterations"]
        if progress["phase"] == ALIGN_PHASE:
            # The rigid alignment on the first frame before a deforming model starts (again
            # on a resumed run): no frame of its own and no share of the job.
            done = self.resumed / count if self.sequential else 0.0
        else:
            if self.sequential and index != self.current:
                if self.current >= 0:
                    self.frame_finished(self.current)
                self.current = index
                self.emit(EventKind.FRAME_STARTED, **self.frame_fields(index))
            done = (index * iterations + iteration + 1) / (count * iterations) \
                if self.sequential else (iteration + 1) / iterations
        self.steps_since += 1
        now = time.perf_counter()
        if (iteration + 1 == iterations or iteration == 0 or now - self.last_sent
                >= PROGRESS_EVERY_SECONDS or self.steps_since >= PROGRESS_EVERY_ITERATIONS):
            self.last_sent, self.steps_since = now, 0
            self.emit(EventKind.PROGRESS, **self.frame_fields(index), iteration=iteration,
                      iterations=iterations, phase=progress["phase"],
                      losses=progress["losses"], eta_seconds=_number(progress["eta_seconds"]),
                      fraction=round(min(1.0, done), 6))

    def finish(self, result: TrackResult) -> None:
        if self.sequential and 0 <= self.current < result.num_frames:
            self.frame_finished(self.current, result)


def prepare_plate(footage: JobFootage, job, footprint: Callable[[], float]
                  ) -> tuple[PlateChoice, dict]:
    """The plate choice for ``job`` with ``footage`` set up for it (the estimate made where
    one is used) -> (choice, the "plate" event's fields). footprint(): the share of the image
    the asset covers at its start pose, asked for only when an estimate is made: an "auto"
    estimate that is unreliable, or that shows less than half of the object (it stayed in
    place, so the median kept it), falls back to the raw plate."""
    choice = choose_plate(job, footage.has_alpha)
    estimate = None
    if choice.background == "estimate":
        estimate = footage.estimate_background()
        covered = footprint()
        hidden = swallowed(footage.visible, covered)
        if hidden:
            why = (f"the frames differ from the estimate on {footage.visible:.1%} of the "
                   f"image but the asset covers {covered:.1%}: the object stays in place, so "
                   "the median keeps it")
        if job.settings.background == "auto" and (hidden or not estimate.reliable):
            choice = fall_back_to_raw(choice, why if hidden else estimate.describe())
            footage.estimate = None
        elif hidden:
            choice = replace(choice, warning=" ".join(
                filter(None, [choice.warning, f"The estimate may hold the object: {why}."])))
    footage.over_colour = choice.background == "colour"
    fields = choice.to_event()
    if estimate is not None:
        fields.update(reliability=round(estimate.reliability, 4),
                      coverage=round(estimate.coverage, 4), estimate=estimate.describe())
        if not estimate.reliable and choice.background == "estimate":
            fields["warning"] = " ".join(filter(None, [fields["warning"], estimate.describe()]))
    return choice, fields


def start_footprint(splats, camera: Camera) -> float:
    """The share of the image the asset's render covers (alpha > 0.5) at rest."""
    import torch

    from ..render.api import render

    with torch.no_grad():
        return float((render(splats, camera).alpha > 0.5).float().mean())


def appearance_summary(result: TrackResult) -> dict | None:
    """The colour transform of the last tracked frame: {"mode", "gain" [3], "offset" [3]}."""
    if "appearance.gain" not in result.extra or result.num_frames == 0:
        return None
    return {"mode": str(result.extra["appearance.mode"]),
            "gain": [round(float(v), 4) for v in result.extra["appearance.gain"][-1]],
            "offset": [round(float(v), 4) for v in result.extra["appearance.offset"][-1]]}


def _number(value) -> float | None:
    """A float for JSON; None for NaN or Inf (JSON has neither)."""
    value = float(value)
    return value if np.isfinite(value) else None


def partial_result_frames(path: Path) -> int | None:
    """Frames held by a partial (complete=False) result at ``path``; None if there is none."""
    if not path.is_file():
        return None
    try:
        saved = TrackResult.load(path)
    except ResultError as error:
        raise JobError(path.parent, [("outputs.result", f"cannot be resumed: {error}; or "
                                                        "track from the first frame (the "
                                                        "worker's --no-resume)")]) from None
    return None if saved.complete else saved.num_frames


def run_job(folder, callback: EventCallback | None = None, cancel: CancelToken | None = None,
            resume: bool = True, *, started_at: float | None = None) -> TrackResult:
    """Track the job in ``folder`` and save result.npz there (module docstring).

    resume: continue a partial result (complete=False) at the result path; a complete one,
    or resume=False, starts from the first frame. A cancelled run (``cancel``) returns and
    leaves a result with complete=False holding the frames finished so far.

    Raises JobError (invalid job, a result path out of the folder, another worker on the
    job: worker/output.py), DeviceError (device absent) before any work; anything raised
    while tracking propagates, and the result file keeps the frames finished before.
    """
    started_at = time.perf_counter() if started_at is None else started_at
    loaded = load_job(folder)
    device = resolve_device(loaded.job.settings.device)
    result_path = prepare_result(loaded.folder, loaded.job.outputs.result)
    with JobLock(loaded.folder):
        return _run_loaded(loaded, device, result_path, callback, cancel, resume, started_at)


def _run_loaded(loaded: LoadedJob, device: str, result_path: Path,
                callback: EventCallback | None, cancel: CancelToken | None, resume: bool,
                started_at: float) -> TrackResult:
    import torch

    from ..track.sequence import track_sequence

    folder = loaded.folder
    settings = loaded.job.settings
    config = settings.tracking_config()
    done = partial_result_frames(result_path) if resume else None
    footage = JobFootage(loaded, settings.resolution)
    try:
        cameras = job_cameras(loaded, footage.size)
        frames = [frame.scene_frame for frame in loaded.job.frames]
        mapper = EventMapper(callback, frames, result_path, started_at, done or 0,
                             settings.model != "mlp")
        mapper.emit(EventKind.STARTED, job=str(Path(folder).resolve()), frames=len(frames),
                    model=settings.model, loss=settings.loss, device=device,
                    resumed_frames=done or 0, size=list(footage.size),
                    iterations=config.iterations)
        if is_cancelled(cancel):  # stopped while starting: skip the tracker's set-up
            return _stopped_before_tracking(loaded, result_path, done, mapper, started_at)
        splats = loaded.splats.to_torch(device=device, dtype=torch.float32)
        choice, plate_fields = prepare_plate(footage, loaded.job,
                                             lambda: start_footprint(splats, cameras[0]))
        mapper.emit(EventKind.PLATE, **plate_fields)
        background = torch.tensor(loaded.job.frames[0].background, dtype=torch.float32,
                                  device=device)
        result = track_sequence(splats, loaded.rig, cameras, footage, frames, settings.model,
                                config, loss=settings.loss, callback=mapper, cancel=cancel,
                                checkpoint=result_path, resume=done is not None,
                                seed=settings.seed, background=background,
                                backdrops=None if choice.background == "colour"
                                else footage.backdrop, appearance=choice.appearance)
    finally:
        footage.close()
    if result.num_frames > 0 or not result_path.exists():
        result.save(result_path)
    mapper.finish(result)
    mapper.emit(EventKind.FINISHED, result=str(result_path), complete=bool(result.complete),
                frames_done=result.num_frames,
                seconds=round(time.perf_counter() - started_at, 3),
                appearance=appearance_summary(result))
    return result


def _stopped_before_tracking(loaded: LoadedJob, result_path: Path, done: int | None,
                             mapper: EventMapper, started_at: float) -> TrackResult:
    """The partial result there (resumed later), or an empty one (complete=False) written
    where there is no result yet; then the finished event."""
    if done is not None:
        result = TrackResult.load(result_path)
    else:
        p = loaded.rig.num_control_points
        result = TrackResult(np.zeros(0, np.int64), np.zeros((0, p, 4)), np.zeros((0, p, 3)),
                             model=loaded.job.settings.model, complete=False)
        if not result_path.exists():
            result.save(result_path)
    mapper.emit(EventKind.FINISHED, result=str(result_path), complete=False,
                frames_done=result.num_frames,
                seconds=round(time.perf_counter() - started_at, 3))
    return result


__all__ = ["run_job", "resolve_device", "tracking_size", "job_cameras", "JobFootage",
           "EventMapper", "partial_result_frames", "prepare_plate", "appearance_summary"]
