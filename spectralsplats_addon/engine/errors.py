"""Typed errors of the engine.

Every error says what is wrong and what to do about it. They cross the boundary to
Blender as data: the Blender layer relays ``str(error)`` with ``self.report``.
"""

from __future__ import annotations


class SpectralSplatsError(Exception):
    """Base class of every error the engine raises on purpose."""


class SplatFileError(SpectralSplatsError, ValueError):
    """A file could not be read as, or written as, a Gaussian splat file."""

    def __init__(self, path, problem: str, fix: str):
        self.path = str(path)
        self.problem = problem
        self.fix = fix
        super().__init__(f"{self.path}: {problem}. {fix}")


class ShapeError(SpectralSplatsError, ValueError):
    """An array or tensor of the wrong shape. ``name`` names it, ``actual`` is its shape and
    ``expected`` the shape it needs, in words where a dimension is free ("[N=30, K]")."""

    def __init__(self, name: str, actual, expected, message: str | None = None):
        self.name = name
        self.actual = tuple(actual)
        self.expected = str(expected)
        super().__init__(message or f"{name} has shape {self.actual}, expected {self.expected}")


class RigError(SpectralSplatsError, ValueError):
    """A rig that cannot be built or used: no splat centres, non-finite centres, or a control
    point or neighbour count out of range."""


class ResultError(SpectralSplatsError, ValueError):
    """A result file that cannot be read or is inconsistent."""


class CameraError(SpectralSplatsError, ValueError):
    """Camera data that cannot describe a pinhole camera."""


class RenderError(SpectralSplatsError, ValueError):
    """Inputs to the renderer that it cannot use (shapes, values, backend)."""


class ConfigError(SpectralSplatsError, ValueError):
    """Tracking settings that are unknown, out of range or inconsistent with each other."""


class LossInputError(SpectralSplatsError, ValueError):
    """Images or weights given to a loss that it cannot compare (shapes, ranks, sizes)."""


class VideoError(SpectralSplatsError, ValueError):
    """A movie, image sequence or matte that cannot be read as frames, or a bad request to one.

    ``path`` names the file, pattern or folder at fault (None where no file is involved).
    """

    def __init__(self, path, problem: str, fix: str):
        self.path = None if path is None else str(path)
        self.problem = problem
        self.fix = fix
        where = "" if self.path is None else f"{self.path}: "
        super().__init__(f"{where}{problem}. {fix}")


class FrameRangeError(VideoError, IndexError):
    """A frame index outside the frames a source holds (the message gives the valid range)."""


class JobError(SpectralSplatsError, ValueError):
    """A job folder (job.json, asset.ply, rig.npz, footage) that cannot be run.

    ``problems`` lists every problem found as (field path, what is wrong and what is
    expected); the message has one line per problem, each starting with its field path.
    """

    def __init__(self, where, problems):
        self.where = None if where is None else str(where)
        self.problems = [(str(path), str(message)) for path, message in problems]
        count = len(self.problems)
        head = f"{self.where}: " if self.where else ""
        lines = [f"{head}the job has {count} problem{'s' if count != 1 else ''}; fix "
                 f"{'them' if count != 1 else 'it'} and write the job again:"]
        lines += [f"{path}: {message}" if path else message for path, message in self.problems]
        super().__init__("\n".join(lines))


class DeviceError(SpectralSplatsError, ValueError):
    """A compute device that was asked for but is not available (e.g. "cuda" without a CUDA
    build of torch or without a GPU)."""


class TrackInputError(SpectralSplatsError, ValueError):
    """Scene data that cannot be turned into a tracking job: the splat object, its rig, the
    camera or the footage."""


class WorkerError(SpectralSplatsError, RuntimeError):
    """The tracking worker process cannot start (no interpreter with torch), failed, or
    stopped without a result."""


class TrackingError(SpectralSplatsError, RuntimeError):
    """Tracking that failed on good inputs: the optimisation diverged (NaN or Inf)."""


class SkinningError(SpectralSplatsError, ValueError):
    """Inputs to the compiled skinning that it cannot use (shapes, dtypes, devices, indices),
    or a rig constant that requires grad."""
