"""Video input: movies (PyAV) and image sequences (Pillow) as frames for tracking.

numpy, PyAV and Pillow only (no torch, no bpy); PyAV and Pillow load when a file is read.

    from spectralsplats_addon.engine.video import open_frames, scale_camera

    with open_frames("shot.mp4", matte="matte_%04d.png", size=(480, 270)) as frames:
        frame = frames.read(12)                     # FrameImage, index 0 = first frame shown
        target = frame.composited((0.0, 0.0, 0.0))  # [270, 480, 3] float32 in [0, 1]
        camera = frames.camera(full_res_camera)     # K scaled to 480 x 270

docs/video.md describes frame numbering, alpha and mattes, resizing and the errors.
"""

from .compositing import composite, composite_alpha, luminance, unpremultiply
from .frame import FrameImage
from .frames import open_frames
from .image_sequence import ImageSequenceSource
from .matte import MattedSource
from .movie import MovieSource
from .resize import fit_size, resize_area, scale_camera
from .resized_source import ResizedSource
from .sequence_files import SequenceFile, list_sequence
from .source import FrameSource

__all__ = ["open_frames", "FrameSource", "FrameImage", "MovieSource", "ImageSequenceSource",
           "MattedSource", "ResizedSource", "composite", "composite_alpha", "luminance",
           "unpremultiply", "resize_area", "fit_size", "scale_camera", "SequenceFile",
           "list_sequence"]
