"""The shift-radius experiment (the paper's zero-overlap test), shared by tests and scripts.

The target is the asset rendered at its true pose (the identity) with alpha on black. Each
case starts the tracker from a pose moved in the image plane: a direction theta (seeded,
uniform) and a radius rho in units of the asset's image footprint F (pixels: the longer side
of the bounding box of the target's mask alpha > MASK_THRESHOLD) give a shift of
rho F (cos theta, sin theta) pixels, turned into scene units at the asset centre's depth z:

    t0 = R_cam^T (rho F cos(theta) z / f_x,  rho F sin(theta) z / f_y,  0)

plus, optionally, a rotation about a random axis by ``rotation_deg`` degrees. The overlap of a
case is |mask(start render) & mask(target)| / |mask(target)|; 0 means the start render and the
target share no pixel.

A case succeeds when the final translation error |t| (the truth is t = 0) is below
``SUCCESS_TOLERANCE`` = 2 % of the asset size (bounding-box diagonal of the splat centres);
the rotation error (angle of the final R, the truth being I) is reported beside it.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ..engine.config import ALIGNMENT, PIXEL_ALIGNMENT, TrackingConfig
from ..engine.conventions import Camera, look_at_matrix_world, viewmat_from_matrix_world
from ..engine.deform.pose import RigidPose, asset_centre, asset_size
from ..engine.errors import ConfigError
from ..engine.loss.metrics import psnr, ssim
from ..engine.render.api import render
from ..engine.splats import Splats
from ..engine.track.proxy import coverage_subset  # noqa: F401  (re-exported: scripts and tests use it here)
from ..engine.track.rigid import track_rigid_frame
from ..engine.track.step import LossMode, target_image

MASK_THRESHOLD = 1.0 / 255.0  # alpha that shows in an 8-bit image
SUCCESS_TOLERANCE = 0.02      # final translation error / asset size


@dataclass
class ShiftCase:
    """One start pose: radius (footprints), direction (degrees in the image, x right, y down),
    the start pose about the asset centre, the overlap of the start render with the target."""

    index: int
    radius: float
    direction_deg: float
    rotation: np.ndarray      # [3] axis-angle, radians
    translation: np.ndarray   # [3] scene units
    overlap: float = float("nan")

    @property
    def pose(self) -> RigidPose:
        return RigidPose(self.rotation, self.translation)


@dataclass
class CaseResult:
    """The outcome of tracking one case with one loss."""

    index: int
    radius: float
    overlap: float
    loss: str
    multiresolution: bool
    translation_error: float   # |t_final| / asset size
    depth_error: float         # |component of t_final along the view axis| / asset size
    rotation_error_deg: float
    psnr: float                # final render vs target, RGB, dB
    ssim: float
    seconds: float

    @property
    def success(self) -> bool:
        return self.translation_error < SUCCESS_TOLERANCE

    def to_dict(self) -> dict:
        return {**asdict(self), "success": self.success}


@dataclass
class ShiftScene:
    """An asset, its camera, its target (rgb [H, W, 3], alpha [H, W]), centre [3], size, and
    its image footprint in pixels."""

    name: str
    splats: Splats
    camera: Camera
    target_rgb: torch.Tensor
    target_alpha: torch.Tensor
    centre: torch.Tensor
    size: float
    footprint_px: float


def mask(alpha: torch.Tensor, threshold: float = MASK_THRESHOLD) -> torch.Tensor:
    """Boolean coverage mask alpha > threshold.  [H, W] -> [H, W] bool"""
    return alpha.detach() > threshold


def image_footprint(alpha: torch.Tensor, threshold: float = MASK_THRESHOLD) -> float:
    """Longer side (pixels) of the bounding box of the mask alpha > threshold.  alpha: [H, W]"""
    ys, xs = torch.nonzero(mask(alpha, threshold), as_tuple=True)
    if ys.numel() == 0:
        raise ConfigError("the asset covers no pixel of the target: point the camera at it")
    return float(max(int(ys.max() - ys.min()) + 1, int(xs.max() - xs.min()) + 1))


def mask_overlap(alpha: torch.Tensor, target_alpha: torch.Tensor,
                 threshold: float = MASK_THRESHOLD) -> float:
    """|mask(alpha) & mask(target)| / |mask(target)|: 0 for no shared pixel, 1 for full cover."""
    m, t = mask(alpha, threshold), mask(target_alpha, threshold)
    return float((m & t).sum()) / max(1, int(t.sum()))


def framing_camera(splats: Splats, side: int, fill: float, azimuth_deg: float = 30.0,
                   elevation_deg: float = 25.0, fov_deg: float = 40.0) -> Camera:
    """A square camera looking at the asset centre from the distance where the asset's
    bounding sphere (radius: the farthest centre from c) spans ``fill`` of the image side."""
    c = asset_centre(splats).double().numpy()
    means = splats.means.detach().double().numpy()
    radius = float(np.linalg.norm(means - c, axis=1).max())
    half = math.radians(fov_deg) / 2
    distance = radius / (fill * math.tan(half))
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    eye = c + distance * np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az),
                                   math.sin(el)])
    viewmat = viewmat_from_matrix_world(look_at_matrix_world(eye, c))
    focal = 0.5 * side / math.tan(half)
    K = np.array([[focal, 0.0, side / 2.0], [0.0, focal, side / 2.0], [0.0, 0.0, 1.0]])
    return Camera(viewmat, K, side, side, near=0.01 * distance, far=100.0 * distance)


def make_scene(name: str, splats: Splats, camera: Camera, backend: str = "auto") -> ShiftScene:
    """Renders the target (identity pose, black background) and measures the footprint."""
    with torch.no_grad():
        out = render(splats, camera, backend=backend)
    return ShiftScene(name, splats, camera, out.rgb, out.alpha, asset_centre(splats),
                      asset_size(splats), image_footprint(out.alpha))


def image_plane_shift(camera: Camera, centre, pixels_xy) -> np.ndarray:
    """Scene-space translation that moves a point at ``centre`` [3] by ``pixels_xy`` [2]
    (x right, y down) in the image, parallel to the image plane.  -> [3]"""
    rot, trans = camera.viewmat[:3, :3], camera.viewmat[:3, 3]
    depth = float(rot[2] @ np.asarray(centre, dtype=np.float64) + trans[2])
    dx, dy = pixels_xy
    in_camera = np.array([dx * depth / camera.K[0, 0], dy * depth / camera.K[1, 1], 0.0])
    return rot.T @ in_camera


def make_cases(scene: ShiftScene, radii, directions: int, seed: int,
               rotation_deg: float = 0.0) -> list:
    """``directions`` cases per radius (footprints), each with a direction drawn uniformly from
    a seeded numpy generator, and a start rotation of ``rotation_deg`` about a random axis.
    Overlap of each start with the target is measured by rendering it."""
    rng = np.random.default_rng(seed)
    cases = []
    for radius in radii:
        for _ in range(directions):
            theta = float(rng.uniform(0.0, 2 * math.pi))
            axis = rng.normal(size=3)
            axis /= np.linalg.norm(axis)
            shift_px = radius * scene.footprint_px * np.array([math.cos(theta), math.sin(theta)])
            t0 = image_plane_shift(scene.camera, scene.centre.double().numpy(), shift_px)
            case = ShiftCase(len(cases), float(radius), math.degrees(theta),
                             axis * math.radians(rotation_deg), t0)
            case.overlap = start_overlap(scene, case)
            cases.append(case)
    return cases


def start_overlap(scene: ShiftScene, case: ShiftCase, backend: str = "auto") -> float:
    """mask_overlap of the start pose's render with the target."""
    with torch.no_grad():
        moved = case.pose.apply(scene.splats, scene.centre)
        alpha = render(moved, scene.camera, backend=backend).alpha
    return mask_overlap(alpha, scene.target_alpha)


def run_case(scene: ShiftScene, case: ShiftCase, config: TrackingConfig, loss: LossMode,
             backend: str = "auto") -> CaseResult:
    """Tracks one case from its start pose; errors against the identity, quality of the final
    render against the target (RGB)."""
    start = time.perf_counter()
    result = track_rigid_frame(scene.splats, scene.camera, scene.target_rgb, scene.target_alpha,
                               config, loss=loss, init=case.pose, centre=scene.centre,
                               backend=backend)
    seconds = time.perf_counter() - start
    with torch.no_grad():
        final = render(result.pose.apply(scene.splats, scene.centre), scene.camera,
                       backend=backend).rgb
    rgb, target = target_image(final, None, False), target_image(scene.target_rgb, None, False)
    depth_error = abs(float(scene.camera.viewmat[2, :3] @ result.pose.translation))
    return CaseResult(case.index, case.radius, case.overlap, loss, config.multiresolution,
                      float(np.linalg.norm(result.pose.translation)) / scene.size,
                      depth_error / scene.size,
                      result.pose.angle_deg, psnr(rgb, target), ssim(rgb, target), seconds)


def success_rate(results, zero_overlap_only: bool = False) -> float:
    """Fraction of results that succeeded (optionally only those with overlap 0)."""
    chosen = [r for r in results if r.overlap == 0 or not zero_overlap_only]
    return sum(r.success for r in chosen) / max(1, len(chosen))


# Parts of the synthetic asset: (centre, diameter, base colour). Unequal sizes and colours in
# no symmetric arrangement, so that every rotation and translation changes the image.
MARKER_PARTS = (((0.0, 0.0, 0.0), 0.6, (0.85, 0.25, 0.2)),
                ((0.45, 0.05, 0.0), 0.3, (0.2, 0.75, 0.3)),
                ((-0.1, 0.4, 0.1), 0.25, (0.2, 0.35, 0.9)),
                ((0.05, -0.1, 0.42), 0.2, (0.95, 0.85, 0.2)))


# The settings the experiment was tuned with (64 px, 150 steps): the spectral phase is half the
# steps with a 10 % warm-up, 5 bands (up to 32 cycles per image, the Nyquist radius of 64 px),
# the depth held during the spectral phase (a free depth runs off while render and target are
# apart), and a learning rate that decays to 0.3 of its start so the spatial phase can still
# settle the depth, which one view sees only through the image's scale.
EXPERIMENT_CONFIG = ALIGNMENT  # engine/config.py: also the first-frame alignment of tracking

# The pixel-loss baseline: the same steps with its own best translation step (0.06 overshoots
# near the truth; the spectral settings above hold the depth only in a phase it does not have).
PIXEL_CONFIG = PIXEL_ALIGNMENT

# The asset's bounding sphere spans this fraction of the image side: a start shifted 1.5
# footprints from the centre then stays inside the image (0.2 let the donut's top touch the
# border, where it was cut off and its level mass gain was measured wrong).
FRAMING_FILL = 0.15


def make_marker_asset(n: int = 600, seed: int = 0) -> Splats:
    """A synthetic asset of four unequal coloured balls of splats (MARKER_PARTS), n splats in
    all, split in proportion to each ball's volume; SH degree 0, float32 torch fields."""
    from .synthetic import make_synthetic_splats
    from ..engine.splats import SH_C0

    volumes = np.array([d ** 3 for _, d, _ in MARKER_PARTS])
    counts = np.maximum(8, np.round(n * volumes / volumes.sum()).astype(int))
    parts = []
    for k, ((centre, diameter, colour), count) in enumerate(zip(MARKER_PARTS, counts)):
        part = make_synthetic_splats(int(count), seed=seed * 16 + k, extent=diameter,
                                     dtype=torch.float64)
        sh = part.sh.clone()
        sh[:, 0, :] = 0.5 * sh[:, 0, :] + (torch.tensor(colour, dtype=torch.float64) - 0.5) / SH_C0
        parts.append(Splats(part.means + torch.tensor(centre, dtype=torch.float64), part.quats,
                            part.log_scales, part.opacity_logits, sh))
    fields_ = [torch.cat([getattr(p, f) for p in parts]) for f in
               ("means", "quats", "log_scales", "opacity_logits", "sh")]
    return Splats(*fields_).to_torch(dtype=torch.float32)


__all__ = ["MASK_THRESHOLD", "SUCCESS_TOLERANCE", "ShiftCase", "CaseResult", "ShiftScene",
           "mask", "image_footprint", "mask_overlap", "framing_camera", "make_scene",
           "image_plane_shift", "make_cases", "start_overlap", "run_case", "success_rate",
           "coverage_subset",
           "MARKER_PARTS", "make_marker_asset", "EXPERIMENT_CONFIG", "PIXEL_CONFIG",
           "FRAMING_FILL"]
