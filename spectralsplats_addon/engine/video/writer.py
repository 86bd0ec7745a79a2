"""Writing frames: an H.264 movie through PyAV, or a folder of PNG images through Pillow.

    write_frames("out.mp4", frames, fps=24)             # .mp4 .mov .mkv: H.264, yuv420p
    write_frames("out/", frames, numbers=[101, 102])    # out/frame_0101.png, ...

Frames are float32 [H, W, 3] (RGB) or [H, W, 4] (RGBA, PNG only) in [0, 1], rounded to
8 bits. yuv420p needs even sides, so a movie's frames are padded by one row or column
(a copy of the last) where a side is odd. numpy, PyAV and Pillow only; both load on use.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..errors import VideoError

MOVIE_SUFFIXES = (".mp4", ".mov", ".mkv")
PNG_NAME = "frame_%04d.png"
H264_OPTIONS = {"crf": "18", "preset": "medium"}


def to_uint8(image: np.ndarray) -> np.ndarray:  # [H, W, C] float in [0, 1] -> uint8
    return np.round(np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0) * 255.0
                    ).astype(np.uint8)


def pad_to_even(pixels: np.ndarray) -> np.ndarray:  # [H, W, C] -> [H + H % 2, W + W % 2, C]
    """Repeat the last row and column where a side is odd (chroma subsampling needs even)."""
    height, width = pixels.shape[:2]
    return np.pad(pixels, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")


def is_movie_path(path) -> bool:
    return Path(path).suffix.lower() in MOVIE_SUFFIXES


def write_movie(path, frames: Iterable[np.ndarray], fps: float = 24.0) -> Path:
    """H.264 (libx264, yuv420p, crf 18) of RGB frames [H, W, 3], all of one size."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count, size = 0, None
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w") as container:
        stream = None
        for image in frames:
            pixels = pad_to_even(to_uint8(image)[..., :3])
            if stream is None:
                size = pixels.shape[:2]
                stream = container.add_stream("libx264", rate=rate)
                stream.height, stream.width = size
                stream.pix_fmt = "yuv420p"
                stream.options = dict(H264_OPTIONS)
            elif pixels.shape[:2] != size:
                raise VideoError(path, f"frame {count} is {pixels.shape[1]} x {pixels.shape[0]} "
                                       f"but the first was {size[1]} x {size[0]}",
                                 "give frames of one size")
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
            count += 1
        if stream is None:
            raise VideoError(path, "no frames to write", "give at least one frame")
        container.mux(stream.encode(None))
    return path


def write_png_sequence(folder, frames: Iterable[np.ndarray],
                       numbers: Sequence[int] | None = None, name: str = PNG_NAME) -> list[Path]:
    """PNG files ``name % number`` in ``folder`` (created): RGB or RGBA, 8 bits. numbers
    default to 1, 2, ..."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(frames):
        number = i + 1 if numbers is None else int(numbers[i])
        pixels = to_uint8(image)
        if pixels.ndim != 3 or pixels.shape[-1] not in (3, 4):
            raise VideoError(folder, f"frame {i} has shape {list(pixels.shape)}",
                             "give [H, W, 3] RGB or [H, W, 4] RGBA frames")
        paths.append(folder / (name % number))
        Image.fromarray(np.ascontiguousarray(pixels)).save(paths[-1])
    return paths


def write_frames(out, frames: Iterable[np.ndarray], numbers: Sequence[int] | None = None,
                 fps: float = 24.0) -> Path:
    """A movie when ``out`` ends in .mp4/.mov/.mkv, else a folder of PNGs; returns ``out``."""
    if is_movie_path(out):
        return write_movie(out, frames, fps)
    write_png_sequence(out, frames, numbers)
    return Path(out)


__all__ = ["write_frames", "write_movie", "write_png_sequence", "is_movie_path",
           "MOVIE_SUFFIXES", "PNG_NAME"]
