"""Preview the fit of one tracked frame: the tracker's render over the plate, as a PNG.

    python -m spectralsplats_addon.engine.worker.preview JOB_DIR SCENE_FRAME OUT.png

reads the job folder and its result.npz, poses the splats as the result has them at that
scene frame, renders them through the job's camera at the tracking size, composites the
render over the plate and mixes that half and half with the plate (where the two agree the
image is the plate; where they do not, both show). Prints one JSON line, {"event": "preview",
"frame", "path", "psnr"} (PSNR in dB of the render against the plate), and exits 0; on a
bad argument or job it prints the reason on stderr and exits 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from ..errors import SpectralSplatsError
from ..result import TrackResult

PLATE_SHARE = 0.5  # the plate's weight in the mix with the render composited over it


def overlay(render_rgb: np.ndarray, alpha: np.ndarray, background: np.ndarray,
            plate: np.ndarray) -> np.ndarray:
    """The render (rgb [H, W, 3] over ``background`` [3], alpha [H, W]) composited over the
    plate [H, W, 3], mixed with the plate.  -> [H, W, 3] in [0, 1]"""
    splats_only = render_rgb - (1.0 - alpha[..., None]) * background  # premultiplied colour
    over_plate = splats_only + (1.0 - alpha[..., None]) * plate
    return np.clip(PLATE_SHARE * plate + (1.0 - PLATE_SHARE) * over_plate, 0.0, 1.0)


def preview_frame(folder, scene_frame: int) -> tuple[np.ndarray, float]:
    """(overlay [H, W, 3] float32, PSNR dB of the render against the plate) of one frame."""
    import torch

    from ..deform.skinning import pose_splats
    from ..job import load_job
    from ..loss.metrics import psnr
    from ..render import render
    from ..track.proxy import control_point_motion
    from .run_job import JobFootage, job_cameras

    loaded = load_job(folder)
    if not loaded.result_path.is_file():
        raise SpectralSplatsError(f"{loaded.result_path}: no result yet; track the job first")
    result = TrackResult.load(loaded.result_path)
    tracked = [int(f) for f in result.frames]
    if int(scene_frame) not in tracked:
        raise SpectralSplatsError(f"frame {scene_frame} is not in the result, which holds frames "
                                  f"{tracked[0]}-{tracked[-1]}: pick a tracked frame")
    index = tracked.index(int(scene_frame))
    job_index = [f.scene_frame for f in loaded.job.frames].index(int(scene_frame))
    footage = JobFootage(loaded, loaded.job.settings.resolution)
    try:
        camera = job_cameras(loaded, footage.size)[job_index]
        plate, _ = footage(int(scene_frame))
    finally:
        footage.close()
    rotations, translations = control_point_motion(result, loaded.rig.control_points)
    background = np.asarray(loaded.job.frames[job_index].background, dtype=np.float32)
    with torch.no_grad():
        posed = pose_splats(loaded.splats.to_torch(dtype=torch.float32), loaded.rig,
                             rotations[index], translations[index])
        out = render(posed, camera, background=torch.as_tensor(background))
    rgb, alpha = out.rgb.numpy(), out.alpha.numpy()
    value = psnr(torch.as_tensor(rgb).permute(2, 0, 1), torch.as_tensor(plate).permute(2, 0, 1))
    return overlay(rgb, alpha, background, plate).astype(np.float32), float(value)


def write_png(path, image: np.ndarray) -> Path:
    """image [H, W, 3] in [0, 1] as an 8-bit PNG at path, written atomically (engine/atomic)."""
    from PIL import Image

    from ..atomic import atomic_file
    from ..video.writer import to_uint8

    path = Path(path)
    with atomic_file(path) as handle:
        Image.fromarray(np.ascontiguousarray(to_uint8(image))).save(handle, format="PNG")
    return path


def main(argv: list[str]) -> int:
    if len(argv) != 3 or not argv[1].lstrip("-").isdigit():
        print("usage: python -m spectralsplats_addon.engine.worker.preview JOB_DIR SCENE_FRAME "
              "OUT.png", file=sys.stderr)
        return 2
    folder, frame, out = argv[0], int(argv[1]), argv[2]
    try:
        image, value = preview_frame(folder, frame)
        write_png(out, image)
    except (SpectralSplatsError, OSError) as error:
        print(f"preview: {error}", file=sys.stderr)
        return 2
    print(json.dumps({"event": "preview", "frame": frame, "path": str(Path(out).resolve()),
                      "psnr": round(value, 3)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
