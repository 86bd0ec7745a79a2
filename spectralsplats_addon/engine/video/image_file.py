"""One image file -> float colour and alpha in [0, 1], with Pillow.

8-bit files divide by 255, 16-bit greyscale (Pillow's I;16 and I modes) by 65535, float
TIFFs are clipped to [0, 1]. Pillow reduces 16-bit colour PNG and TIFF to 8 bits on load, so
those files are decoded with FFmpeg's image decoders (PyAV) instead, keeping all 16 bits.
Alpha comes from RGBA, LA, PA and palette transparency; PNG alpha is straight.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import VideoError

CONVERT = "convert it to 8- or 16-bit PNG or TIFF"
MAX_FOOTAGE_SIDE = 8192  # pixels, either side of a footage or matte frame


def read_image(path: Path):  # -> rgb [H, W, 3] float32, alpha [H, W] float32 or None
    """Decode one image file (see the module docstring)."""

    with open_image(path) as image:
        if is_deep_colour(image, path):
            return read_deep_colour(path)
        try:
            image.load()
        except (OSError, ValueError, SyntaxError) as exc:
            raise VideoError(path, f"the image is damaged ({exc})", CONVERT) from None
        mode = image.mode
        if mode == "P" and "transparency" in image.info:
            image, mode = image.convert("RGBA"), "RGBA"
        if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
            grey = np.asarray(image, dtype=np.float32) / 65535.0
            return np.repeat(np.clip(grey, 0.0, 1.0)[..., None], 3, axis=2), None
        if mode == "F":
            grey = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
            return np.repeat(grey[..., None], 3, axis=2), None
        has_alpha = mode in ALPHA_MODES
        if mode in ("RGBa", "La"):
            image = image.convert("RGBA")  # Pillow's premultiplied modes -> straight
        pixels = np.asarray(image.convert("RGBA" if has_alpha else "RGB"), dtype=np.float32)
        pixels /= 255.0
    if has_alpha:
        return np.ascontiguousarray(pixels[..., :3]), np.ascontiguousarray(pixels[..., 3])
    return pixels, None


def open_image(path: Path):
    """Pillow's lazy open (header only), with our errors for missing and unreadable files."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise VideoError(path, "file not found", "check the path and the sequence's frame "
                                                 "range (a file may be missing from it)")
    try:
        return Image.open(path)
    except Image.DecompressionBombError as exc:
        raise VideoError(path, f"its header claims too many pixels ({exc})",
                         f"give footage of at most {MAX_FOOTAGE_SIDE} x {MAX_FOOTAGE_SIDE} "
                         "pixels") from None
    except UnidentifiedImageError:
        raise VideoError(path, "Pillow cannot read it as an image (damaged, or a format it "
                               f"does not support, such as {path.suffix or 'this one'})",
                         CONVERT) from None
    except OSError as exc:
        raise VideoError(path, f"it cannot be opened ({exc})", "check its permissions") from None


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the header alone."""
    with open_image(path) as image:
        return image.size


ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def image_header(path: Path) -> tuple[tuple[int, int], bool]:
    """((width, height), has alpha) from the header alone; VideoError for a file that is
    not an image Pillow reads."""
    with open_image(path) as image:
        alpha = image.mode in ALPHA_MODES or (image.mode == "P" and "transparency" in image.info)
        return image.size, alpha


def is_deep_colour(image, path: Path) -> bool:
    """A colour (or grey + alpha) image with more than 8 bits a channel, which Pillow truncates."""
    if image.format == "PNG":
        with open(path, "rb") as f:
            header = f.read(26)  # signature, IHDR length and tag, width, height, depth, type
        return len(header) == 26 and header[24] == 16 and header[25] in (2, 4, 6)
    if image.format == "TIFF" and image.mode in ("RGB", "RGBA"):
        bits = image.tag_v2.get(258, (8,))
        return max(bits if isinstance(bits, tuple) else (bits,)) > 8
    return False


def read_deep_colour(path: Path):  # -> rgb [H, W, 3], alpha [H, W] or None
    import av

    from .movie import frame_arrays

    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
    except (av.error.FFmpegError, StopIteration) as exc:
        raise VideoError(path, f"its 16-bit image data cannot be decoded ({exc})",
                         CONVERT) from None
    return frame_arrays(frame)
