"""A small moving clip (four coloured balls, translated a little more each frame) and a job
folder for it: the worker and command-line tests track it."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from spectralsplats_addon.engine.conventions import (BlenderCamera, Camera, camera_from_blender,
                                                     look_at_matrix_world)
from spectralsplats_addon.engine.deform.pose import asset_centre, asset_size
from spectralsplats_addon.engine.job import Job, JobAsset, JobFrame, JobSettings, JobSource
from spectralsplats_addon.engine.job import write_job
from spectralsplats_addon.engine.render.api import render
from spectralsplats_addon.engine.rig import build_rig
from spectralsplats_addon.engine.splats import Splats
from spectralsplats_addon.lab.shift_experiment import make_marker_asset


ROOT = Path(__file__).resolve().parents[2]
# The object stands away from the origin, so the object matrix must be folded in to track.
OBJECT_MATRIX = np.array([[1.0, 0.0, 0.0, 0.3], [0.0, 1.0, 0.0, -0.2], [0.0, 0.0, 1.0, 0.5],
                          [0.0, 0.0, 0.0, 1.0]])
SIZE = (64, 48)        # footage (width, height)
RESOLUTION = 48        # tracking size 48 x 36
FIRST_FRAME = 101      # scene frame of footage index 0
ALIGN_ITERATIONS = 20  # the rigid alignment on the first frame (direct and mlp)
VIEW = np.array([0.6, -0.7, 0.4]) / np.linalg.norm([0.6, -0.7, 0.4])  # object to camera
SHIFT = (0.035, 0.03, 0.0)  # per frame, in asset sizes: across the view (depth is weakly seen)


class MovingClip:
    """300 splats (four coloured balls) translated a little more each frame, seen by a
    Blender camera (64 x 48 px) from 2.2 asset sizes away; frames rendered with alpha."""

    def __init__(self, frames: int = 3):
        self.splats = make_marker_asset(300)
        self.rig = build_rig(self.splats.means.numpy(), 16)
        size = asset_size(self.splats)
        centre = OBJECT_MATRIX[:3, :3] @ asset_centre(self.splats).double().numpy() \
            + OBJECT_MATRIX[:3, 3]
        eye = centre + 2.2 * size * VIEW
        self.blender_camera = BlenderCamera(
            matrix_world=look_at_matrix_world(eye, centre).tolist(), lens=35.0,
            resolution_x=SIZE[0], resolution_y=SIZE[1], clip_start=0.01)
        world = camera_from_blender(self.blender_camera)
        self.camera = Camera(world.viewmat @ OBJECT_MATRIX, world.K, world.width, world.height,
                             world.near, world.far)  # object-local
        self.shifts = [torch.tensor(SHIFT, dtype=torch.float32) * size * (f + 1)
                       for f in range(frames)]
        self.frames = []  # (rgb [H, W, 3], alpha [H, W]) float32 numpy, straight colour
        with torch.no_grad():
            for shift in self.shifts:
                out = render(self.moved(shift), self.camera)
                alpha = out.alpha.numpy()
                rgb = np.divide(out.rgb.numpy(), alpha[..., None],
                                out=np.zeros_like(out.rgb.numpy()), where=alpha[..., None] > 1e-6)
                self.frames.append((np.clip(rgb, 0, 1), alpha))

    def moved(self, shift) -> Splats:
        s = self.splats
        return Splats(s.means + shift, s.quats, s.log_scales, s.opacity_logits, s.sh)

    def write_mp4(self, path: Path) -> Path:
        """H.264 (yuv444p, near-lossless), colour composited over black."""
        import av

        with av.open(str(path), "w") as container:
            stream = container.add_stream("libx264", rate=24)
            stream.width, stream.height = SIZE
            stream.pix_fmt = "yuv444p"
            stream.options = {"crf": "4"}
            for rgb, alpha in self.frames:
                pixels = np.round(np.clip(rgb * alpha[..., None], 0, 1) * 255).astype(np.uint8)
                container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
            container.mux(stream.encode(None))
        return path

    def write_pngs(self, folder: Path) -> str:
        """RGBA PNGs frame_0001.png, ... (straight colour); returns the printf pattern."""
        from PIL import Image

        folder.mkdir(parents=True, exist_ok=True)
        for i, (rgb, alpha) in enumerate(self.frames):
            rgba = np.dstack([rgb, alpha])
            Image.fromarray(np.round(rgba * 255).astype(np.uint8)).save(
                folder / f"frame_{i + 1:04d}.png")
        return str(folder / "frame_%04d.png")


def write_clip_job(folder: Path, clip: MovingClip, movie: Path, iterations: int = 40,
                   model: str = "direct", seed: int = 0) -> Path:
    """A job folder for the clip's movie: scene frames FIRST_FRAME.., the fast preset."""
    frames = [JobFrame(FIRST_FRAME + i, JobSource(str(movie), i))
              for i in range(len(clip.frames))]
    job = Job(asset=JobAsset(matrix_world=OBJECT_MATRIX.tolist()), camera=clip.blender_camera,
              frames=frames,
              settings=JobSettings(model=model, preset="fast", device="cpu",
                                   resolution=RESOLUTION, seed=seed,
                                   config={"iterations": iterations, "num_bands": 5,
                                           "align_iterations": ALIGN_ITERATIONS}))
    write_job(folder, job, clip.splats.to_numpy(), clip.rig)
    return folder


def worker_command(folder, *extra) -> list[str]:
    """The command that runs the worker on a job folder, in this interpreter."""
    return [sys.executable, "-m", "spectralsplats_addon.engine.worker", str(folder), *extra]
