"""The tracking engine: bpy-free. Loads torch only in the modules that render or optimise,
and gsplat only when the CUDA backend is first used.

Importing the engine sets OMP_WAIT_POLICY=PASSIVE (unless already set) before torch loads:
torch's and numba's OpenMP threads otherwise spin after every parallel region, and on a small
CPU with any other load they starve each other (measured: a tracking step 1.7x slower beside
one busy process; see docs/renderer.md). It has no effect if torch was imported first.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .errors import CameraError, RenderError, SpectralSplatsError, SplatFileError
from .splats import Splats

__all__ = ["Splats", "SpectralSplatsError", "SplatFileError", "CameraError", "RenderError"]
