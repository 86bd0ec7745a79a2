"""Movie files through PyAV (FFmpeg's demuxers and decoders), frame-exact.

Frame index i is the frame on screen at t_i = t_0 + i / fps, where t_0 is the presentation
time of the first frame shown (a stream may start later than 0: a start offset) and fps is
the stream's average rate. With the stream's time base tb (seconds per tick), a decoded
frame whose presentation timestamp is pts has the index

    i(pts) = round((pts - pts_0) * tb * fps)

so for a constant-frame-rate stream index i is exactly the i-th frame in presentation order.
(Where a variable-rate stream skips a slot, that index shows the frame still on screen.)

Random access seeks to the nearest keyframe at or before the wanted timestamp, then decodes
forward until i(pts) reaches the wanted index; decoders hand B-frames back in presentation
order, so timestamps, not packet order, decide. If the seek lands after the wanted frame (a
keyframe's decode time before the wanted frame but its presentation after it), it seeks
further back. Reading a later frame continues from the open decoder without seeking.

The frame count is the index of the last frame shown, plus one, found by decoding from the
last keyframe to the end (one group of pictures), or by a full decode pass where the file
cannot seek. ``stream.frames`` is not used: Matroska and WebM leave it 0 and AVI counts the
empty packets of a start offset.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import VideoError
from .compositing import unpremultiply
from .frame import FrameImage
from .source import FrameSource

RE_EXPORT = "re-export it (e.g. H.264 in .mp4, ProRes in .mov) or as an image sequence"


class MovieSource(FrameSource):
    """Frames of the first video stream of a movie file (see the module docstring).

    path:          the movie file
    premultiplied: the file stores colour premultiplied by alpha; it is made straight on read
    max_forward:   a later frame at most this many frames ahead is reached by decoding
                   forward; a farther one by seeking
    """

    def __init__(self, path, *, premultiplied: bool = False, max_forward: int = 64):
        import av  # noqa: F401  (PyAV loads only where movies are read)

        self.path = str(path)
        self.premultiplied = premultiplied
        self.max_forward = int(max_forward)
        if not Path(path).is_file():
            what = "is a folder, not a movie" if Path(path).is_dir() else "file not found"
            raise VideoError(path, what, "check the path (a relative path is resolved from "
                                         f"{Path.cwd()})")
        self._open()
        self.seeks = 0  # how many times reads had to seek (sequential reads add none)
        first = self._next_decoded(expect_index=False)
        if first is None:
            raise VideoError(path, "no frame of its video stream could be decoded",
                             "the file is damaged or empty; " + RE_EXPORT)
        self._pts0 = first[0]
        self._count = self._count_frames()
        self._rewind()

    # -- opening and decoding ------------------------------------------------------------

    def _open(self) -> None:
        import av

        try:
            self._container = av.open(self.path, metadata_errors="ignore")
        except (av.error.FFmpegError, UnicodeDecodeError) as exc:
            raise VideoError(self.path, f"FFmpeg cannot read it as a movie ({exc_reason(exc)})",
                             "check that it is a complete movie file, not truncated, still "
                             "being written or of another kind; " + RE_EXPORT) from None
        videos = self._container.streams.video
        if not videos:
            kinds = [s.type for s in self._container.streams] or ["no streams"]
            self._container.close()
            raise VideoError(self.path, f"it has no video stream (it holds: {', '.join(kinds)})",
                             "give a movie with a picture track, or an image sequence")
        self._stream = videos[0]
        self._stream.thread_type = "AUTO"
        rate = self._stream.average_rate or self._stream.guessed_rate or self._stream.base_rate
        if not rate or self._stream.time_base is None:
            self._container.close()
            raise VideoError(self.path, "its video stream has no frame rate or time base",
                             "remux it with a constant frame rate, e.g. ffmpeg -i IN -r 24 "
                             "OUT.mp4")
        self._rate = Fraction(rate)
        self._tb = Fraction(self._stream.time_base)
        self._decoded = iter(self._container.decode(self._stream))
        self._current = None  # (index, av.VideoFrame): last decoded frame at or before a read
        self._pending = None  # (index, av.VideoFrame): decoded ahead of _current

    def _rewind(self) -> None:
        """Back to the first frame: reopen (always exact, unlike seeking to a start time)."""
        self._container.close()
        self._open()

    def index_of(self, pts: int) -> int:
        """i(pts) = round((pts - pts_0) * tb * fps)."""
        return round((pts - self._pts0) * self._tb * self._rate)

    def pts_of(self, index: int) -> int:
        """The timestamp of frame ``index`` in stream ticks (inverse of index_of)."""
        return self._pts0 + round(Fraction(index) / (self._rate * self._tb))

    def _next_decoded(self, expect_index: bool = True):
        """The next (index, frame) from the decoder, or None at the end of the stream.

        With expect_index False (while pts_0 is unknown) it returns (pts, frame).
        """
        import av

        try:
            frame = next(self._decoded, None)
        except av.error.FFmpegError as exc:
            raise VideoError(self.path, f"decoding failed ({exc_reason(exc)})",
                             "the file is damaged; " + RE_EXPORT) from None
        if frame is None:
            return None
        if frame.pts is None:
            raise VideoError(self.path, "its frames carry no timestamps, so frames cannot "
                                        "be addressed exactly",
                             "remux it into .mp4 or .mkv (e.g. ffmpeg -i IN -c copy OUT.mkv)")
        return (self.index_of(frame.pts) if expect_index else frame.pts), frame

    def _seek(self, index: int) -> None:
        """Position the decoder so that its next frames lead up to ``index``."""
        import av

        target = self.pts_of(index)
        back = 0
        one_second = max(1, round(1 / self._tb))
        while target - back > self._pts0:
            self.seeks += 1
            try:
                self._container.seek(target - back, stream=self._stream, backward=True,
                                     any_frame=False)
            except av.error.FFmpegError:
                break
            self._decoded = iter(self._container.decode(self._stream))
            first = self._next_decoded()
            if first is not None and first[0] <= index and first[1].key_frame:
                self._current, self._pending = first, None
                return
            back = max(2 * back, one_second)
        self._rewind()
        self._current, self._pending = self._next_decoded(), None

    def _frame_at(self, index: int):
        near = self._current is not None and \
            self._current[0] <= index <= self._current[0] + self.max_forward
        if not near:
            self._seek(index)
        while True:
            ahead = self._pending if self._pending is not None else self._next_decoded()
            self._pending = None
            if ahead is None:
                break
            if ahead[0] > index:
                self._pending = ahead
                break
            self._current = ahead
        return self._current[1]

    def _count_frames(self) -> int:
        """Index of the last frame shown + 1: decode from the last keyframe, else everything."""
        import av

        last = None
        try:
            self._container.seek(2**62, stream=self._stream, backward=True, any_frame=False)
            self._decoded = iter(self._container.decode(self._stream))
            last = self._last_index()
        except (av.error.FFmpegError, VideoError):
            last = None
        if last is None:
            self._rewind()
            last = self._last_index()
        count = last + 1
        expected = self._expected_count()
        if expected is not None and count < expected - 1:
            raise VideoError(self.path, f"only {count} frames decode but its header gives a "
                                        f"length of {expected} frames: it is truncated or "
                                        "damaged", "copy or " + RE_EXPORT)
        return count

    def _last_index(self) -> int | None:
        last = None
        while (item := self._next_decoded()) is not None:
            last = item[0] if last is None else max(last, item[0])
        return last

    def _expected_count(self) -> int | None:
        """Length the header announces: from the stream's end time, or else from a lone
        stream's container duration read as an end time (Matroska counts it from 0; formats
        that count it from the start only make the estimate smaller, never a false alarm)."""
        s, c = self._stream, self._container
        if s.duration and s.start_time is not None:
            end = Fraction(s.start_time + s.duration) * self._tb
        elif c.duration and len(c.streams) == 1:
            end = Fraction(c.duration, 1_000_000)
        else:
            return None
        return round((end - self._pts0 * self._tb) * self._rate)

    # -- FrameSource ---------------------------------------------------------------------

    def __len__(self) -> int:
        return self._count

    @property
    def size(self) -> tuple[int, int]:
        return int(self._stream.codec_context.width), int(self._stream.codec_context.height)

    @property
    def fps(self) -> float:
        return float(self._rate)

    @property
    def rate(self) -> Fraction:
        """The exact frame rate, e.g. Fraction(30000, 1001)."""
        return self._rate

    @property
    def start_time(self) -> float:
        """Presentation time of frame 0 in seconds (the start offset)."""
        return float(self._pts0 * self._tb)

    @property
    def codec(self) -> str:
        return self._stream.codec_context.name

    @property
    def has_alpha(self) -> bool:
        return pixel_format_has_alpha(self._stream.codec_context.pix_fmt)

    def _read(self, index: int) -> FrameImage:
        frame = self._frame_at(index)
        rgb, alpha = frame_arrays(frame)
        if alpha is not None and self.premultiplied:
            rgb = unpremultiply(rgb, alpha)
        return FrameImage(rgb=rgb, alpha=alpha, index=index, number=index,
                          time=float(frame.pts * self._tb), path=self.path)

    def close(self) -> None:
        self._container.close()


def pixel_format_has_alpha(pix_fmt: str | None) -> bool:
    import av

    if not pix_fmt:
        return False
    fmt = av.VideoFormat(pix_fmt)
    return fmt.has_palette or any(c.is_alpha for c in fmt.components)


def frame_arrays(frame):  # -> rgb [H, W, 3] float32, alpha [H, W] float32 or None
    """Convert a decoded frame to float RGB(A) in [0, 1], 16 bits where the source has > 8."""
    fmt = frame.format
    alpha = fmt.has_palette or any(c.is_alpha for c in fmt.components)
    deep = max(c.bits for c in fmt.components) > 8
    target = {(False, False): "rgb24", (False, True): "rgb48le",
              (True, False): "rgba", (True, True): "rgba64le"}[alpha, deep]
    pixels = frame.to_ndarray(format=target).astype(np.float32) / (65535.0 if deep else 255.0)
    if alpha:
        return np.ascontiguousarray(pixels[..., :3]), np.ascontiguousarray(pixels[..., 3])
    return pixels, None


def exc_reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
