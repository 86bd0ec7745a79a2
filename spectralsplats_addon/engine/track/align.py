"""First-frame rigid alignment: where a deforming model starts tracking.

A deforming model moves each control point by its own step (VectorAdam normalises each
point's gradient). From a start whose render shares no pixel with the target, the lowest
band's gradients point every way across the asset and their mean barely moves it, so the
direct and mlp models do not close the gap on their own (docs/tracking.md). One rigid pose
has a single translation that the spectral moments do pull toward the target from anywhere
(docs/results.md, the rigid shift experiment). So, before a deforming model tracks, the
rigid tracker fits the first frame from the starting pose with config.ALIGNMENT (or
PIXEL_ALIGNMENT for the pixel loss, so the comparison differs only in the loss), and the
model starts from the pose it finds.
"""

from __future__ import annotations

import torch

from ..config import ALIGNMENT, PIXEL_ALIGNMENT, TrackingConfig
from ..conventions import Camera
from ..deform.pose import RigidPose
from ..progress import CancelToken, ProgressCallback
from ..splats import Splats
from .rigid import track_rigid_frame
from .step import LossMode

ALIGN_PHASE = "align"  # the phase name progress events carry during the alignment


def alignment_config(config: TrackingConfig, loss: LossMode) -> TrackingConfig:
    """ALIGNMENT (PIXEL_ALIGNMENT for loss "pixel") with the run's step count, alpha use and
    multi-resolution settings."""
    base = PIXEL_ALIGNMENT if loss == "pixel" else ALIGNMENT
    return base.replace(iterations=config.align_iterations,
                        supervise_alpha=config.supervise_alpha,
                        multiresolution=config.multiresolution,
                        multiresolution_min_side=config.multiresolution_min_side)


def align_first_frame(splats: Splats,            # the asset at rest, torch
                      camera: Camera,
                      target: torch.Tensor,      # [C, H, W]: RGB, + alpha when C = 4
                      config: TrackingConfig,
                      loss: LossMode,
                      init: RigidPose | None = None,
                      *, centre: torch.Tensor | None = None, background=None,
                      backdrop: torch.Tensor | None = None,  # [H, W, 3] or None
                      backend: str = "auto", callback: ProgressCallback | None = None,
                      cancel: CancelToken | None = None) -> RigidPose:
    """The rigid pose that best fits the first frame, found from ``init`` (module docstring).

    Progress events carry frame 0 and phase "align"; a cancel returns the pose so far.
    """
    rgb = target[:3].permute(1, 2, 0)
    alpha = target[3] if target.shape[0] == 4 else None

    def relay(event: dict) -> None:
        callback({**event, "phase": ALIGN_PHASE})

    result = track_rigid_frame(splats, camera, rgb, alpha, alignment_config(config, loss),
                               loss=loss, init=init, centre=centre, background=background,
                               backend=backend, frame=0, backdrop=backdrop,
                               callback=relay if callback is not None else None, cancel=cancel)
    return result.pose


__all__ = ["ALIGN_PHASE", "alignment_config", "align_first_frame"]
