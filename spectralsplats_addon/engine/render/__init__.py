"""The differentiable renderer: ``render(splats, camera)`` -> RGB and alpha images.

Backends: "torch" (pure PyTorch, any device), "numba" (compiled CPU rasterizer), "gsplat"
(CUDA, loaded on first use), and "auto" to pick one. See docs/renderer.md.
"""

from .api import BACKENDS, Backend, RenderOutput, render, resolve_backend
from .projection import Projection, project_gaussians
from .rasterize_torch import rasterize_torch
from .sh import eval_sh_colors, sh_basis

__all__ = ["render", "RenderOutput", "Backend", "BACKENDS", "resolve_backend", "Projection",
           "project_gaussians", "rasterize_torch", "eval_sh_colors", "sh_basis"]
