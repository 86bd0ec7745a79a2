"""Test footage whose frames carry their own index, to check that frame i is frame i.

Each frame of width x height pixels holds:
- a band of ``bits`` blocks across the top: block j is white if bit (bits - 1 - j) of the
  index is set, else black (the most significant bit on the left); blocks are large, so the
  code survives lossy codecs and reads back by thresholding each block's centre at 0.5;
- a white square on a dark grey ground below the band, whose top-left corner moves with the
  index (``square_corner``), as a second, independent check.
The alpha (or matte) of frame i is opaque over the band and the square and MATTE_GROUND
elsewhere. Movies get a start offset by giving frame 0 the timestamp start_frame / fps.

    write_index_movie(tmp / "clip.mp4", codec="libx264", frames=40, start_frame=7)
    decode_index(frames.read(i).rgb) == i
"""

from __future__ import annotations

import struct
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..engine.errors import ConfigError

INDEX_BITS = 8
GROUND = 64  # grey level of the ground below the code band
MATTE_GROUND = 96  # alpha of the ground, out of 255

# Pixel format per encoder (colour, with alpha); None where the encoder has no alpha format.
PIXEL_FORMATS = {
    "libx264": ("yuv420p", None), "mpeg4": ("yuv420p", None),
    "libvpx-vp9": ("yuv420p", None), "mjpeg": ("yuvj444p", None),
    "ffv1": ("yuv444p", "yuva444p"), "prores": ("yuv422p10le", None),
    "prores_ks": ("yuv422p10le", "yuva444p10le"), "png": ("rgb24", "rgba"),
    "qtrle": ("rgb24", "argb"),
}
# Quality settings that keep the code blocks and the square legible at small sizes.
ENCODER_OPTIONS = {
    "libx264": {"crf": "18"}, "mpeg4": {"qmin": "2", "qmax": "4"},
    "libvpx-vp9": {"crf": "20", "b": "0", "deadline": "realtime", "cpu-used": "8"},
}


def band_height(width: int, height: int, bits: int = INDEX_BITS) -> int:
    return max(2, min(width // bits, height // 3))


def square_side(width: int, height: int, bits: int = INDEX_BITS) -> int:
    return max(2, (height - band_height(width, height, bits)) // 3 // 2 * 2)


def square_corner(index: int, width: int, height: int, bits: int = INDEX_BITS):
    """(x0, y0) of the square's top-left pixel in frame ``index`` (even, for chroma)."""
    band, side = band_height(width, height, bits), square_side(width, height, bits)
    free_x, free_y = (width - side) // 2, (height - band - side) // 2
    return 2 * ((3 * index) % (free_x + 1)), band + 2 * (index % (free_y + 1))


def square_centre(index: int, width: int, height: int, bits: int = INDEX_BITS):
    """(x, y) of the square's centre in pixel-index units (what ``find_square`` measures)."""
    x0, y0 = square_corner(index, width, height, bits)
    half = (square_side(width, height, bits) - 1) / 2
    return x0 + half, y0 + half


def index_frame(index: int, width: int = 64, height: int = 48,
                bits: int = INDEX_BITS) -> np.ndarray:  # [H, W, 3] uint8
    """The picture of frame ``index`` (see the module docstring)."""
    if not 0 <= index < 2**bits:
        raise ConfigError(f"index {index} does not fit in {bits} bits")
    if width < 2 * bits or height < 12:
        raise ConfigError(f"a test frame needs at least {2 * bits} x 12 pixels")
    img = np.full((height, width), GROUND, np.uint8)
    band, block = band_height(width, height, bits), width // bits
    img[:band] = 0
    for j in range(bits):
        if (index >> (bits - 1 - j)) & 1:
            img[:band, j * block:(j + 1) * block] = 255
    x0, y0 = square_corner(index, width, height, bits)
    side = square_side(width, height, bits)
    img[y0:y0 + side, x0:x0 + side] = 255
    return np.repeat(img[..., None], 3, axis=2)


def index_matte(index: int, width: int = 64, height: int = 48,
                bits: int = INDEX_BITS) -> np.ndarray:  # [H, W] uint8
    """Alpha of frame ``index``: 255 over the band and the square, MATTE_GROUND elsewhere."""
    matte = np.full((height, width), MATTE_GROUND, np.uint8)
    matte[:band_height(width, height, bits)] = 255
    x0, y0 = square_corner(index, width, height, bits)
    side = square_side(width, height, bits)
    matte[y0:y0 + side, x0:x0 + side] = 255
    return matte


def decode_index(rgb: np.ndarray, bits: int = INDEX_BITS) -> int:  # rgb [H, W, 3] in [0, 1]
    """Read the index back from the band: each block's central half, mean > 0.5 is a 1."""
    height, width = rgb.shape[:2]
    band, block = band_height(width, height, bits), width // bits
    grey = np.asarray(rgb, dtype=np.float32).mean(axis=2)
    y0, y1 = band // 4, band - band // 4
    value = 0
    for j in range(bits):
        x0, x1 = j * block + block // 4, (j + 1) * block - block // 4
        value = (value << 1) | int(grey[y0:y1, x0:x1].mean() > 0.5)
    return value


def find_square(rgb: np.ndarray, bits: int = INDEX_BITS):  # -> (x, y) in pixel indices
    """Centroid of the bright pixels below the band (the square)."""
    height, width = rgb.shape[:2]
    band = band_height(width, height, bits)
    ys, xs = np.nonzero(np.asarray(rgb, dtype=np.float32)[band:].mean(axis=2) > 0.6)
    return float(xs.mean()), float(ys.mean() + band)


def write_index_movie(path, *, codec: str = "libx264", frames: int = 40, fps: int = 24,
                      size: tuple[int, int] = (64, 48), start_frame: int = 0,
                      bframes: int = 2, gop: int = 12, alpha: bool = False,
                      matte: bool = False) -> Path:
    """Encode frames 0 .. frames - 1 with PyAV; frame 0 is shown at start_frame / fps.

    alpha: store index_matte as the alpha channel (codecs with an alpha pixel format)
    matte: write the matte itself as a grey picture instead of the index frames
    bframes, gop: B-frames between references and keyframe interval, where the codec has them
    """
    import av

    width, height = size
    colour_fmt, alpha_fmt = PIXEL_FORMATS[codec]
    if alpha and alpha_fmt is None:
        raise ConfigError(f"{codec} has no alpha pixel format here")
    path = Path(path)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = alpha_fmt if alpha else colour_fmt
        options = dict(ENCODER_OPTIONS.get(codec, {}))
        if codec in ("libx264", "mpeg4"):
            options.update(bf=str(bframes), g=str(gop))
        elif codec == "libvpx-vp9":
            options.update(g=str(gop))
        stream.options = options
        for i in range(frames):
            picture = index_frame(i, width, height)
            if matte:
                picture = np.repeat(index_matte(i, width, height)[..., None], 3, axis=2)
            if alpha:
                picture = np.dstack([picture, index_matte(i, width, height)])
            frame = av.VideoFrame.from_ndarray(picture, format="rgba" if alpha else "rgb24")
            frame.pts, frame.time_base = start_frame + i, Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def write_index_sequence(folder, *, frames: int = 40, size: tuple[int, int] = (64, 48),
                         first_number: int = 1, name: str = "frame_%04d.png",
                         alpha: bool = False, matte: bool = False) -> list[Path]:
    """Write frames 0 .. frames - 1 as files numbered first_number, first_number + 1, ...

    alpha: RGBA images with index_matte as alpha; matte: the matte as greyscale images.
    """
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    width, height = size
    paths = []
    for i in range(frames):
        if matte:
            image = Image.fromarray(index_matte(i, width, height))
        elif alpha:
            pixels = np.dstack([index_frame(i, width, height), index_matte(i, width, height)])
            image = Image.fromarray(pixels)
        else:
            image = Image.fromarray(index_frame(i, width, height))
        paths.append(folder / (name % (first_number + i)))
        image.save(paths[-1])
    return paths


def write_png16(path, pixels: np.ndarray) -> Path:  # [H, W] grey, [H, W, 3] RGB, [H, W, 4] RGBA
    """A 16-bit PNG from uint16 pixels, written directly (Pillow cannot write 16-bit colour)."""
    pixels = np.asarray(pixels, dtype=np.uint16)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    height, width, channels = pixels.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    rows = pixels.astype(">u2").reshape(height, width * channels * 2 // 2).view(np.uint8)
    raw = np.hstack([np.zeros((height, 1), np.uint8), rows.reshape(height, -1)]).tobytes()

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + \
            struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    path = Path(path)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
                     chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path


def write_audio_only(path, seconds: float = 0.5, rate: int = 8000) -> Path:
    """A file with one audio stream and no video (a 440 Hz tone, 16-bit PCM)."""
    import av

    samples = (np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate) * 8000)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples.astype(np.int16)[None, :], format="s16",
                                           layout="mono")
        frame.sample_rate, frame.pts = rate, 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return Path(path)
