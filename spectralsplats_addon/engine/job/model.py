"""The job as plain dataclasses, and their JSON form (job.json v1).

``to_dict`` gives what job.json holds; ``from_dict`` reads it back and expects data that
``validate_job`` has passed (use ``parse_job``, which validates first). Optional fields
take the defaults below when absent. numpy-free, torch-free: the Blender layer writes jobs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import TrackingConfig, preset
from ..conventions import BlenderCamera
from .schema import JOB_VERSION

IDENTITY = ((1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0),
            (0.0, 0.0, 0.0, 1.0))


def matrix_rows(matrix) -> list[list[float]]:
    """A [4, 4] matrix (nested sequences or an array) as lists of floats, row-major."""
    return [[float(v) for v in row] for row in matrix]


@dataclass(frozen=True)
class JobSource:
    """One footage frame: frame ``index`` of the movie ``path`` (0 = first frame shown, as in
    docs/video.md), or, with ``index`` None, the image file ``path``. Relative paths are
    relative to the job folder."""

    path: str
    index: int | None = None

    @property
    def kind(self) -> str:
        """"movie" or "image"."""
        return "image" if self.index is None else "movie"

    def to_dict(self) -> dict:
        if self.index is None:
            return {"image": self.path}
        return {"movie": self.path, "index": int(self.index)}

    @classmethod
    def from_dict(cls, data: dict) -> "JobSource":
        if "image" in data:
            return cls(str(data["image"]))
        return cls(str(data["movie"]), int(data["index"]))


@dataclass(frozen=True)
class JobMatte:
    """Alpha for a frame from a separate matte: its ``channel`` "alpha", "luminance" (white =
    object) or "auto" (alpha where the matte has it, else luminance)."""

    source: JobSource
    channel: str = "auto"

    def to_dict(self) -> dict:
        return {**self.source.to_dict(), "channel": self.channel}

    @classmethod
    def from_dict(cls, data: dict) -> "JobMatte":
        return cls(JobSource.from_dict(data), str(data.get("channel", "auto")))


@dataclass(frozen=True)
class JobFrame:
    """One frame to track: Blender's ``scene_frame``, the footage ``source``, an optional
    ``matte``, the ``background`` [3] (linear RGB in [0, 1]) that target and render are
    composited over, an optional ``clean_plate`` (the background alone, an image at the
    footage's size) and an optional ``camera`` for this frame (else the job's camera)."""

    scene_frame: int
    source: JobSource
    matte: JobMatte | None = None
    background: tuple[float, float, float] = (0.0, 0.0, 0.0)
    camera: BlenderCamera | None = None
    clean_plate: JobSource | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "background", tuple(float(c) for c in self.background))
        if self.camera is not None:
            object.__setattr__(self, "camera", camera_from_dict(camera_to_dict(self.camera)))

    def to_dict(self) -> dict:
        data = {"scene_frame": int(self.scene_frame), "source": self.source.to_dict()}
        if self.matte is not None:
            data["matte"] = self.matte.to_dict()
        data["background"] = [float(c) for c in self.background]
        if self.clean_plate is not None:
            data["clean_plate"] = self.clean_plate.to_dict()
        if self.camera is not None:
            data["camera"] = camera_to_dict(self.camera)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "JobFrame":
        matte, camera = data.get("matte"), data.get("camera")
        plate = data.get("clean_plate")
        return cls(scene_frame=int(data["scene_frame"]),
                   source=JobSource.from_dict(data["source"]),
                   matte=None if matte is None else JobMatte.from_dict(matte),
                   background=tuple(float(c) for c in data.get("background", (0.0,) * 3)),
                   camera=None if camera is None else camera_from_dict(camera),
                   clean_plate=None if plate is None else JobSource.from_dict(plate))


@dataclass(frozen=True)
class JobAsset:
    """The asset: ``ply`` and ``rig`` files relative to the job folder, and the object's
    ``matrix_world`` [4, 4] (object-to-world, row-major, Blender world)."""

    ply: str = "asset.ply"
    rig: str = "rig.npz"
    matrix_world: tuple = IDENTITY

    def __post_init__(self) -> None:
        rows = tuple(tuple(float(v) for v in row) for row in self.matrix_world)
        object.__setattr__(self, "matrix_world", rows)

    def to_dict(self) -> dict:
        return {"ply": self.ply, "rig": self.rig, "matrix_world": matrix_rows(self.matrix_world)}

    @classmethod
    def from_dict(cls, data: dict) -> "JobAsset":
        return cls(str(data["ply"]), str(data["rig"]), data["matrix_world"])


@dataclass(frozen=True)
class JobSettings:
    """How to track. ``config`` holds TrackingConfig fields merged over ``preset``;
    ``resolution`` is the longest side footage and renders are resampled to (None: the
    footage's own size); ``background`` and ``appearance`` say how a plate is compared
    (docs/job-format.md, "Plates")."""

    model: str = "direct"        # "rigid" | "direct" | "mlp"
    loss: str = "spectral"       # "spectral" | "pixel"
    preset: str = "robust"       # a name in engine/config.py PRESETS
    device: str = "auto"         # "auto" | "cpu" | "cuda" | "mps"
    resolution: int | None = 512
    config: dict = field(default_factory=dict)
    seed: int = 0
    background: str = "auto"     # "auto" | "colour" | "clean_plate" | "estimate"
    appearance: str = "auto"     # "auto" | "off" | "clip" | "frame"

    def tracking_config(self) -> TrackingConfig:
        """The preset with the overrides in ``config`` applied (validated by TrackingConfig)."""
        return preset(self.preset).replace(**self.config)

    def to_dict(self) -> dict:
        return {"model": self.model, "loss": self.loss, "preset": self.preset,
                "device": self.device, "resolution": self.resolution,
                "config": dict(self.config), "seed": int(self.seed),
                "background": self.background, "appearance": self.appearance}

    @classmethod
    def from_dict(cls, data: dict) -> "JobSettings":
        defaults = cls()
        resolution = data.get("resolution", defaults.resolution)
        return cls(model=str(data["model"]), loss=str(data.get("loss", defaults.loss)),
                   preset=str(data.get("preset", defaults.preset)),
                   device=str(data.get("device", defaults.device)),
                   resolution=None if resolution is None else int(resolution),
                   config=dict(data.get("config", {})),
                   seed=int(data.get("seed", defaults.seed)),
                   background=str(data.get("background", defaults.background)),
                   appearance=str(data.get("appearance", defaults.appearance)))


@dataclass(frozen=True)
class JobOutputs:
    """Where the worker writes, relative to the job folder."""

    result: str = "result.npz"

    def to_dict(self) -> dict:
        return {"result": self.result}

    @classmethod
    def from_dict(cls, data: dict) -> "JobOutputs":
        return cls(str(data.get("result", cls.result)))


@dataclass(frozen=True)
class Job:
    """A tracking job: everything the worker needs, without Blender (job.json v1)."""

    asset: JobAsset
    camera: BlenderCamera
    frames: tuple[JobFrame, ...]
    settings: JobSettings = field(default_factory=JobSettings)
    outputs: JobOutputs = field(default_factory=JobOutputs)
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "frames", tuple(self.frames))
        object.__setattr__(self, "camera", camera_from_dict(camera_to_dict(self.camera)))

    @property
    def version(self) -> int:
        return JOB_VERSION

    def camera_for(self, frame: JobFrame) -> BlenderCamera:
        """The frame's own camera, else the job's."""
        return self.camera if frame.camera is None else frame.camera

    def to_dict(self) -> dict:
        return {"version": JOB_VERSION, "asset": self.asset.to_dict(),
                "camera": camera_to_dict(self.camera),
                "frames": [frame.to_dict() for frame in self.frames],
                "settings": self.settings.to_dict(), "outputs": self.outputs.to_dict(),
                "meta": dict(self.meta)}

    @classmethod
    def from_dict(cls, data: dict) -> "Job":
        return cls(asset=JobAsset.from_dict(data["asset"]),
                   camera=camera_from_dict(data["camera"]),
                   frames=tuple(JobFrame.from_dict(f) for f in data["frames"]),
                   settings=JobSettings.from_dict(data["settings"]),
                   outputs=JobOutputs.from_dict(data.get("outputs", {})),
                   meta=dict(data.get("meta", {})))


def camera_to_dict(camera: BlenderCamera) -> dict:
    """BlenderCamera -> JSON fields, numbers as floats and ints so that equality is exact."""
    data = camera.to_dict()
    data["matrix_world"] = matrix_rows(data["matrix_world"])
    for name in ("resolution_x", "resolution_y", "resolution_percentage"):
        data[name] = int(data[name])
    for name in ("lens", "sensor_width", "sensor_height", "pixel_aspect_x", "pixel_aspect_y",
                 "shift_x", "shift_y", "clip_start", "clip_end"):
        data[name] = float(data[name])
    return data


def camera_from_dict(data: dict) -> BlenderCamera:
    """JSON fields -> BlenderCamera (absent optional fields take BlenderCamera's defaults)."""
    return BlenderCamera.from_dict(camera_to_dict(BlenderCamera.from_dict(data)))
