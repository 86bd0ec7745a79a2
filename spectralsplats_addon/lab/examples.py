"""Known-motion examples: an asset, its rig and a true control-point motion, rendered as a clip.

The motion is given per frame f as control-point rotations q_fk and translations t_fk in
engine/deform/skinning.py's convention, so the skinned splats

    x'_i = sum_k w_ik (R_fk (x_i - p_k) + p_k + t_fk)

are the ground truth exactly. Every motion starts at rest (q = 1, t = 0 at the first frame) and
is smooth in time: angles are A sin(2 pi f / P) or A (1 - cos(2 pi f / P)) / 2 with a period of
P = PERIOD_FRAMES frames, whatever the clip's length (a short clip is the start of a long one).

- "articulated": a procedural body (``articulated_asset``): torso, head, two arms, two legs.
  Each part turns rigidly about its joint J_j by R_j(f) (arms raise sideways, legs spread, the
  head tilts) and the whole body sways about its centre c by (R_g(f), T_g(f)):

      R_k = R_g R_j,     t_k = R_g (R_j (p_k - J_j) + J_j - c) + c + T_g - p_k

  for a control point p_k of part j (the part of the splat it was sampled from).
- "donut": the real donut.ply. With s = (p_x - c_x) / h in [-1, 1] (h: the half-width along x),
  a squash S(f) = diag(a, a, 1 / a^2), a fold R_y(-beta(f) s) (both ends lift), a twist
  R_x(tau(f) s) (the ends turn against each other) and a drift T(f):

      R_k = R_x(tau s) R_y(-beta s),     t_k = c + R_k S (p_k - c) + T - p_k

The training camera frames the asset over the whole motion (every frame's splat centres inside
its view); the novel camera looks from another azimuth and elevation. Both are built as Blender
cameras first (``BlenderCamera``) and converted with ``camera_from_blender``, so they round-trip
through job.json.

    >>> motion = known_motion("articulated", num_frames=24, size=128)
    >>> frames = render_clip(motion, motion.train_camera)      # 24 x (rgb [128, 128, 3], alpha)
    >>> write_clip(frames, "train.mp4")
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..engine.conventions import BlenderCamera, Camera, camera_from_blender, look_at_matrix_world
from ..engine.deform.skinning import pose_splats
from ..engine.errors import ConfigError, VideoError
from ..engine.geometry import axis_angle_to_quat, quat_multiply, quat_to_rotmat
from ..engine.result import TrackResult
from ..engine.rig import Rig, build_rig, nearest_control_points
from ..engine.splats import SH_C0, Splats

EXAMPLE_NAMES: tuple[str, ...] = ("articulated", "donut")
DONUT_PATH = Path(__file__).resolve().parents[3] / "shared" / "data" / "real_splats" / "donut.ply"
PERIOD_FRAMES = 24             # frames of one cycle of every example motion
ARTICULATED_SPLATS = 3000
ARTICULATED_CONTROL_POINTS = 48
DONUT_CONTROL_POINTS = 512
DEFAULT_FILL = 0.8             # bounding sphere of the moving asset / half the image side
SENSOR_MM = 36.0
LENS_MM = 50.0
TRAIN_VIEW = (-70.0, 12.0)     # azimuth, elevation in degrees (Blender: Z up, azimuth from +X)
NOVEL_VIEW = (-30.0, 30.0)
FPS = 24


@dataclass
class KnownMotion:
    """An example: the rest asset (object-local, numpy), its rig, the true motion of the rig's
    control points over scene frames 1..F (rotations [F, P, 4] w x y z, translations [F, P, 3]),
    a training and a novel camera, and the background the clips are rendered on. The cameras
    as Blender data (what job.json and camera.json hold) come beside them."""

    name: str
    splats: Splats
    rig: Rig
    frames: list[int]
    rotations: np.ndarray
    translations: np.ndarray
    train_camera: Camera
    novel_camera: Camera
    background: tuple = (0.0, 0.0, 0.0)
    train_blender_camera: BlenderCamera | None = None
    novel_blender_camera: BlenderCamera | None = None

    @property
    def num_frames(self) -> int:
        return len(self.frames)

    def truth(self) -> TrackResult:
        """The true motion as a result.npz's content (model "direct")."""
        return TrackResult(np.asarray(self.frames), self.rotations, self.translations,
                           model="direct")

    def posed(self, index: int) -> Splats:
        """The asset skinned by the true motion of sequence frame ``index`` (torch float32)."""
        return pose_splats(self.splats, self.rig, self.rotations[index], self.translations[index])


# -- small numpy rotation helpers ---------------------------------------------------------------

def _axis_quat(axis, angle) -> np.ndarray:
    """Quaternion (w x y z) [..., 4] of a rotation by ``angle`` [...] (radians) about a unit
    axis [3] (engine/geometry.axis_angle_to_quat)."""
    angle = torch.as_tensor(np.asarray(angle, dtype=np.float64))[..., None]
    return axis_angle_to_quat(angle * torch.as_tensor(axis, dtype=torch.float64)).numpy()


def _quat_mul(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hamilton product p * q, [..., 4] each (engine/geometry.quat_multiply)."""
    return quat_multiply(torch.as_tensor(p), torch.as_tensor(q)).numpy()


def _rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v [..., 3] by unit quaternions q [..., 4] (engine/geometry.quat_to_rotmat)."""
    return (quat_to_rotmat(torch.as_tensor(q)) @ torch.as_tensor(v)[..., None])[..., 0].numpy()


def _swing(f: np.ndarray) -> np.ndarray:
    """sin(2 pi f / P): 0 at f = 0, one full swing each way per period."""
    return np.sin(2 * np.pi * f / PERIOD_FRAMES)


def _raise(f: np.ndarray) -> np.ndarray:
    """(1 - cos(2 pi f / P)) / 2: 0 and at rest at f = 0, 1 at half a period."""
    return 0.5 * (1 - np.cos(2 * np.pi * f / PERIOD_FRAMES))


# -- the articulated body ---------------------------------------------------------------------

@dataclass(frozen=True)
class BodyPart:
    """An ellipsoid (radii) or a capsule (from ``start`` to ``end``, ``radius``) of splats,
    its colour, and the joint it turns about: axis [3] and angle(f) = amplitude * profile(f)."""

    name: str
    colour: tuple
    start: tuple
    end: tuple | None = None          # None: an ellipsoid at ``start`` with ``radii``
    radii: tuple = (0.0, 0.0, 0.0)
    radius: float = 0.0
    joint: tuple = (0.0, 0.0, 0.0)
    axis: tuple = (0.0, 1.0, 0.0)
    amplitude_deg: float = 0.0
    profile: str = "raise"            # "raise" (1 - cos) / 2 or "swing" sin

    def volume(self) -> float:
        if self.end is None:
            return 4 / 3 * math.pi * float(np.prod(self.radii))
        length = float(np.linalg.norm(np.subtract(self.end, self.start)))
        return math.pi * self.radius ** 2 * length

    def angle(self, f: np.ndarray) -> np.ndarray:
        shape = _raise(f) if self.profile == "raise" else _swing(f)
        return math.radians(self.amplitude_deg) * shape

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """``count`` points [count, 3] uniform in the part's volume."""
        if self.end is None:
            d = rng.normal(size=(count, 3))
            d /= np.linalg.norm(d, axis=1, keepdims=True)
            return np.asarray(self.start) + d * rng.random((count, 1)) ** (1 / 3) * self.radii
        a, b = np.asarray(self.start, float), np.asarray(self.end, float)
        along = (b - a) / np.linalg.norm(b - a)
        u = np.cross(along, [0.0, 1.0, 0.0] if abs(along[1]) < 0.9 else [1.0, 0.0, 0.0])
        u /= np.linalg.norm(u)
        v = np.cross(along, u)
        r = self.radius * np.sqrt(rng.random(count))
        phi = rng.uniform(0, 2 * np.pi, count)
        t = rng.random(count)
        return a + t[:, None] * (b - a) + (r * np.cos(phi))[:, None] * u + \
            (r * np.sin(phi))[:, None] * v


# A figure 1.7 units tall, Z up, facing -Y. Arms raise sideways (about +-Y at the shoulders),
# legs spread (about +-Y at the hips), the head tilts sideways: what a camera in front sees.
BODY_PARTS = (
    BodyPart("torso", (0.85, 0.30, 0.25), (0.0, 0.0, 1.10), radii=(0.22, 0.13, 0.32)),
    BodyPart("head", (0.95, 0.80, 0.30), (0.0, 0.0, 1.58), radii=(0.12, 0.12, 0.14),
             joint=(0.0, 0.0, 1.42), axis=(0.0, 1.0, 0.0), amplitude_deg=15.0, profile="swing"),
    BodyPart("left arm", (0.25, 0.75, 0.30), (0.27, 0.0, 1.36), (0.33, 0.0, 0.80), radius=0.06,
             joint=(0.27, 0.0, 1.36), axis=(0.0, -1.0, 0.0), amplitude_deg=70.0),
    BodyPart("right arm", (0.25, 0.40, 0.90), (-0.27, 0.0, 1.36), (-0.33, 0.0, 0.80),
             radius=0.06, joint=(-0.27, 0.0, 1.36), axis=(0.0, 1.0, 0.0), amplitude_deg=70.0),
    BodyPart("left leg", (0.60, 0.30, 0.75), (0.11, 0.0, 0.80), (0.13, 0.0, 0.08), radius=0.08,
             joint=(0.11, 0.0, 0.80), axis=(0.0, -1.0, 0.0), amplitude_deg=20.0),
    BodyPart("right leg", (0.20, 0.75, 0.80), (-0.11, 0.0, 0.80), (-0.13, 0.0, 0.08),
             radius=0.08, joint=(-0.11, 0.0, 0.80), axis=(0.0, 1.0, 0.0), amplitude_deg=20.0),
)


def _body(seed: int, count: int = ARTICULATED_SPLATS) -> tuple[Splats, np.ndarray]:
    """The articulated asset and the part index [N] of every splat."""
    rng = np.random.default_rng(seed)
    volumes = np.array([p.volume() for p in BODY_PARTS])
    counts = np.maximum(50, np.round(count * volumes / volumes.sum()).astype(int))
    means, labels, colours, log_scales = [], [], [], []
    for j, (part, n) in enumerate(zip(BODY_PARTS, counts)):
        means.append(part.sample(int(n), rng))
        labels.append(np.full(n, j))
        colours.append(np.clip(np.asarray(part.colour) + rng.normal(scale=0.04, size=(n, 3)),
                               0.02, 0.98))
        spacing = (part.volume() / n) ** (1 / 3)      # mean distance between neighbours
        log_scales.append(math.log(0.55 * spacing) + rng.normal(scale=0.15, size=(n, 3)))
    means = np.concatenate(means)
    n = means.shape[0]
    quats = rng.normal(size=(n, 4))
    quats /= np.linalg.norm(quats, axis=1, keepdims=True)
    sh = ((np.concatenate(colours) - 0.5) / SH_C0)[:, None, :]
    splats = Splats(means, quats, np.concatenate(log_scales), rng.uniform(2.0, 4.0, n), sh)
    return splats.to_numpy(), np.concatenate(labels)


def articulated_asset(seed: int = 0) -> Splats:
    """A procedural body of about 3,000 splats (numpy float32, SH degree 0): torso, head, two
    arms and two legs, each a solid of its own colour (BODY_PARTS), opacities 0.88 to 0.98."""
    return _body(seed)[0]


def _articulated_motion(splats: Splats, labels: np.ndarray, rig: Rig, frames: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
    """(rotations [F, P, 4], translations [F, P, 3]) of the body (module docstring)."""
    cp = rig.control_points.astype(np.float64)
    nearest, _ = nearest_control_points(cp, splats.means, 1)
    part_of = labels[nearest[:, 0]]                                 # [P]
    f = frames.astype(np.float64)
    centre = splats.means.astype(np.float64).mean(0)
    q_g = _axis_quat((0.0, 0.0, 1.0), math.radians(10.0) * _swing(f))  # sway about Z
    t_g = np.stack([0.04 * _swing(f), 0.0 * f, 0.06 * _raise(f)], -1)  # shift and bob
    rotations = np.empty((len(f), cp.shape[0], 4))
    translations = np.empty((len(f), cp.shape[0], 3))
    for j, part in enumerate(BODY_PARTS):
        k = part_of == j
        q_j = _axis_quat(part.axis, part.angle(f))                    # [F, 4]
        joint = np.asarray(part.joint)
        local = _rotate(q_j[:, None], cp[k][None] - joint) + joint    # [F, Pj, 3]
        moved = _rotate(q_g[:, None], local - centre) + centre + t_g[:, None]
        rotations[:, k] = _quat_mul(q_g, q_j)[:, None]
        translations[:, k] = moved - cp[k][None]
    return rotations, translations


# -- the donut ----------------------------------------------------------------------------------

def _donut_motion(splats: Splats, rig: Rig, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rotations [F, P, 4], translations [F, P, 3]): squash, fold, twist, drift (module
    docstring)."""
    means = splats.means.astype(np.float64)
    centre = 0.5 * (means.min(0) + means.max(0))
    half = 0.5 * float(means[:, 0].max() - means[:, 0].min())
    size = float(np.linalg.norm(means.max(0) - means.min(0)))
    cp = rig.control_points.astype(np.float64)
    s = (cp[:, 0] - centre[0]) / half                                  # [P]
    f = frames.astype(np.float64)[:, None]                             # [F, 1]
    fold = math.radians(30.0) * _swing(f) * s                          # [F, P]
    twist = math.radians(25.0) * _raise(f) * s
    a = 1.0 + 0.12 * _raise(f)                                         # [F, 1]
    squash = np.stack([a, a, 1.0 / a ** 2], -1)                        # [F, 1, 3]
    q = _quat_mul(_axis_quat((1.0, 0.0, 0.0), twist), _axis_quat((0.0, -1.0, 0.0), fold))
    drift = np.stack([0.05 * size * _swing(f[:, 0]), 0.03 * size * _raise(f[:, 0]),
                      0.0 * f[:, 0]], -1)                              # [F, 3]
    moved = centre + _rotate(q, squash * (cp - centre)) + drift[:, None]
    return q, moved - cp


# -- cameras ------------------------------------------------------------------------------------

def framing_blender_camera(points: np.ndarray, size: int, view: tuple = TRAIN_VIEW,
                           fill: float = DEFAULT_FILL) -> BlenderCamera:
    """A square Blender camera (lens LENS_MM on a SENSOR_MM sensor) looking from (azimuth,
    elevation) degrees at the centre c of the bounding box of ``points`` [M, 3], from the
    distance d = r / (fill tan(fov / 2)) where r = max |x - c|: the sphere holding every point
    spans ``fill`` of half the image side."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    centre = 0.5 * (points.min(0) + points.max(0))
    radius = max(float(np.linalg.norm(points - centre, axis=1).max()), 1e-6)
    half = math.atan(0.5 * SENSOR_MM / LENS_MM)
    distance = radius / (fill * math.tan(half))
    az, el = (math.radians(v) for v in view)
    eye = centre + distance * np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az),
                                        math.sin(el)])
    return BlenderCamera(matrix_world=look_at_matrix_world(eye, centre).tolist(), lens=LENS_MM,
                         sensor_width=SENSOR_MM, sensor_height=SENSOR_MM, sensor_fit="AUTO",
                         resolution_x=int(size), resolution_y=int(size),
                         clip_start=0.01 * distance, clip_end=100.0 * distance)


# -- skinning and the example itself ------------------------------------------------------------

def swept_points(splats: Splats, rig: Rig, rotations: np.ndarray, translations: np.ndarray
                 ) -> np.ndarray:
    """Every frame's skinned splat centres, stacked [F * N, 3] (what the camera must hold)."""
    with torch.no_grad():
        return np.concatenate([pose_splats(splats, rig, r, t).means.numpy()
                               for r, t in zip(rotations, translations)])


def known_motion(name: str = "articulated", num_frames: int = 24, size: int = 128,
                 num_control_points: int | None = None, seed: int = 0, *,
                 path=None, fill: float = DEFAULT_FILL) -> KnownMotion:
    """The example ``name`` ("articulated" or "donut") over scene frames 1..num_frames, with
    cameras of size x size pixels.

    num_control_points: None for the example's own (48 for the body, 512 for the donut);
    seed: the body's splats and the rig's farthest point sampling; path: another donut .ply
    (default DONUT_PATH); fill: the moving asset's bounding sphere over half the image side.
    """
    if name not in EXAMPLE_NAMES:
        raise ConfigError(f"unknown example {name!r}; choose one of {', '.join(EXAMPLE_NAMES)}")
    if num_frames < 1 or size < 8:
        raise ConfigError(f"an example needs at least 1 frame and 8 pixels, got {num_frames} "
                          f"frames of {size} px")
    if name == "articulated":
        splats, labels = _body(seed)
        rig = build_rig(splats.means, num_control_points or ARTICULATED_CONTROL_POINTS, seed=seed)
    else:
        splats = _read_donut(path)
        rig = build_rig(splats.means, num_control_points or DONUT_CONTROL_POINTS, seed=seed)
    frames = np.arange(num_frames)              # sequence index = time since the rest pose
    if name == "articulated":
        rotations, translations = _articulated_motion(splats, labels, rig, frames)
    else:
        rotations, translations = _donut_motion(splats, rig, frames)
    rotations = rotations.astype(np.float32)
    translations = translations.astype(np.float32)
    swept = swept_points(splats, rig, rotations, translations)
    train = framing_blender_camera(swept, size, TRAIN_VIEW, fill)
    novel = framing_blender_camera(swept, size, NOVEL_VIEW, fill)
    return KnownMotion(name, splats, rig, [int(f) + 1 for f in frames], rotations, translations,
                       camera_from_blender(train), camera_from_blender(novel), (0.0, 0.0, 0.0),
                       train, novel)


def _read_donut(path) -> Splats:
    from ..engine.io import read_splats

    path = Path(path) if path is not None else DONUT_PATH
    if not path.is_file():
        raise ConfigError(f"{path}: no such .ply; give the donut's path (path=...) or another "
                          "splat file")
    return read_splats(path, drop_invalid=True).to_numpy()


# -- clips ----------------------------------------------------------------------------------------

def render_clip(motion: KnownMotion, camera: Camera, backend: str = "auto"
                ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Every frame of the true motion seen by ``camera``: [(rgb [H, W, 3], alpha [H, W])],
    float32 torch, composited over ``motion.background``."""
    from ..engine.render.api import render

    base = motion.splats.to_torch()
    frames = []
    with torch.no_grad():
        for index in range(motion.num_frames):
            out = render(pose_splats(base, motion.rig, motion.rotations[index],
                                      motion.translations[index]),
                         camera, background=motion.background, backend=backend)
            frames.append((out.rgb, out.alpha))
    return frames


def write_clip(frames, path, background=(0.0, 0.0, 0.0), fps: int = FPS,
               first_number: int = 1) -> Path:
    """Writes frames [(rgb [H, W, 3], alpha [H, W])] (rgb composited over ``background``)
    through engine/video/writer.py.

    path ending in .mp4 (.mov, .mkv): an H.264 movie of the composited colour. Otherwise RGBA
    PNGs of straight colour (rgb un-composited from the background): path is a printf pattern
    ("train_%04d.png") or a folder (frame_%04d.png inside), numbered from ``first_number``.
    Returns the movie, or the folder of the PNGs.
    """
    from ..engine.video.writer import PNG_NAME, is_movie_path, write_movie, write_png_sequence

    path = Path(path)
    if not frames:
        raise VideoError(path, "no frames to write", "render the clip first")
    arrays = [(_as_numpy(rgb), _as_numpy(alpha)) for rgb, alpha in frames]
    if is_movie_path(path):
        return write_movie(path, [rgb for rgb, _ in arrays], fps)
    folder, name = (path.parent, path.name) if "%" in path.name else (path, PNG_NAME)
    bg = np.asarray(background, dtype=np.float32)
    rgba = []
    for rgb, alpha in arrays:
        a = alpha[..., None]
        straight = np.divide(rgb - bg * (1 - a), a, out=np.zeros_like(rgb), where=a > 1e-6)
        rgba.append(np.dstack([np.clip(straight, 0, 1), np.clip(alpha, 0, 1)]))
    numbers = range(first_number, first_number + len(rgba))
    write_png_sequence(folder, rgba, numbers, name)
    return folder


def _as_numpy(a) -> np.ndarray:
    return (a.detach().cpu().numpy() if torch.is_tensor(a) else np.asarray(a)).astype(np.float32)


__all__ = ["EXAMPLE_NAMES", "DONUT_PATH", "PERIOD_FRAMES", "KnownMotion", "BodyPart",
           "BODY_PARTS", "articulated_asset", "known_motion", "framing_blender_camera",
           "swept_points", "render_clip", "write_clip"]
