"""The tracking engine: bpy-free. Loads torch only in the modules that render or optimise,
and gsplat only when the CUDA backend is first used."""

from .errors import CameraError, RenderError, SpectralSplatsError, SplatFileError
from .splats import Splats

__all__ = ["Splats", "SpectralSplatsError", "SplatFileError", "CameraError", "RenderError"]
