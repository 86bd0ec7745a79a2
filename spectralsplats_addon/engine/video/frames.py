"""``open_frames``: one call for movies, image sequences, mattes and the tracking size."""

from __future__ import annotations

from pathlib import Path

from ..errors import VideoError
from .image_sequence import ImageSequenceSource
from .matte import MatteChannel, MattedSource
from .movie import MovieSource
from .resized_source import ResizedSource
from .sequence_files import is_sequence_spec
from .source import FrameSource


def open_frames(path_or_pattern, *,
                matte=None,
                matte_channel: MatteChannel = "auto",
                size: tuple[int, int] | None = None,
                fps: float | None = None,
                premultiplied: bool = False) -> FrameSource:
    """Open footage as a FrameSource.

    path_or_pattern: a movie file (anything FFmpeg reads), or an image sequence: a printf
                     pattern ("frame_%04d.png"), hashes ("frame_####.png"), a glob, a
                     folder, a single image, or a list of image files
    matte:           a movie, sequence (as above) or FrameSource giving alpha for each frame
    matte_channel:   "auto" (the matte's alpha if it has one, else luminance), "alpha",
                     "luminance"
    size:            (width, height) to resample every frame to (the tracking resolution);
                     None keeps the footage's size. Scale the camera with ``source.camera``
                     or ``scale_camera``
    fps:             frame rate of an image sequence (movies carry their own; giving a
                     different one for a movie is an error)
    premultiplied:   the footage stores premultiplied colour (frames are returned straight)

    Example:
        >>> frames = open_frames("shot.mp4", matte="shot_matte.mp4", size=(480, 270))
        >>> frame = frames.read(0)
        >>> frame.rgb.shape, frame.alpha.shape, frame.composited((0, 0, 0)).shape
        ((270, 480, 3), (270, 480), (270, 480, 3))
    """
    source = open_plain(path_or_pattern, fps=fps, premultiplied=premultiplied)
    try:
        if matte is not None:
            matte_source = matte if isinstance(matte, FrameSource) else open_plain(matte)
            source = MattedSource(source, matte_source, matte_channel)
        if size is not None:
            source = ResizedSource(source, *size)
    except Exception:
        source.close()
        raise
    return source


def open_plain(spec, *, fps: float | None = None, premultiplied: bool = False) -> FrameSource:
    """A movie or an image sequence, chosen by what ``spec`` names (see open_frames)."""
    if isinstance(spec, FrameSource):
        return spec
    if not isinstance(spec, (str, Path, list, tuple)):
        raise VideoError(None, f"footage must be a path, a pattern or a list of files, got "
                               f"{type(spec).__name__}", "pass e.g. 'shot.mp4' or "
                                                         "'frames/frame_%04d.png'")
    if is_sequence_spec(spec):
        return ImageSequenceSource(spec, fps=fps, premultiplied=premultiplied)
    movie = MovieSource(spec, premultiplied=premultiplied)
    if fps is not None and abs(float(fps) - movie.fps) > 1e-3:
        movie.close()
        raise VideoError(spec, f"fps={fps} was given but the movie runs at {movie.fps:g} fps",
                         "leave fps out for movies: frames are addressed by their timestamps")
    return movie
