"""engine/video: frame-exact movies and sequences, alpha and mattes, resizing, errors.

Every clip is made in tmp_path by testclips.py; each frame carries its index as a binary
code in large blocks plus a moving square, and both are read back for every frame.
"""

from __future__ import annotations

import random

import av
import numpy as np
import pytest
from PIL import Image

from spectralsplats_addon.engine.conventions import Camera
from spectralsplats_addon.engine.errors import FrameRangeError, VideoError
from spectralsplats_addon.engine.video import (
    FrameImage, composite, fit_size, list_sequence, open_frames, resize_area, scale_camera)
from spectralsplats_addon.engine.video.resize import axis_weights
from spectralsplats_addon.lab import testclips as tc

W, H, N = 64, 48, 40

# (encoder, container, has B-frames): H.264 with B-frames in two containers, and others.
MOVIES = [("libx264", "mp4", True), ("libx264", "mkv", True), ("mpeg4", "mkv", True),
          ("libvpx-vp9", "webm", False), ("ffv1", "mkv", False), ("prores", "mov", False),
          ("mjpeg", "mov", False)]


def assert_frame_is(frame: FrameImage, index: int) -> None:
    assert tc.decode_index(frame.rgb) == index
    found, expected = tc.find_square(frame.rgb), tc.square_centre(index, W, H)
    assert np.allclose(found, expected, atol=0.5), (index, found, expected)


@pytest.fixture(params=MOVIES, ids=[f"{c}-{e}" for c, e, _ in MOVIES])
def movie(request, tmp_path):
    codec, ext, _ = request.param
    path = tc.write_index_movie(tmp_path / f"clip.{ext}", codec=codec, frames=N, fps=24,
                                start_frame=7)
    return path


# -- movies: frame-exact access -----------------------------------------------------------

def test_every_movie_frame_in_order_is_its_own_index(movie):
    with open_frames(movie) as frames:
        assert len(frames) == N and frames.size == (W, H) and frames.fps == 24.0
        for i, frame in enumerate(frames):
            assert frame.index == i and frame.alpha is None
            assert_frame_is(frame, i)
        assert frames.seeks == 0  # sequential reading continued from the open decoder


def test_random_order_access_is_exact(movie):
    order = list(range(N))
    random.Random(3).shuffle(order)
    with open_frames(movie) as frames:
        for i in order:
            assert_frame_is(frames.read(i), i)
        assert frames.seeks > 0
        assert_frame_is(frames.read(N - 1), N - 1)
        assert_frame_is(frames.read(0), 0)


def test_start_offset_index_zero_is_the_first_frame_shown(movie):
    stream = av.open(str(movie)).streams.video[0]
    assert stream.start_time * stream.time_base == pytest.approx(7 / 24, abs=0.002)
    with open_frames(movie) as frames:
        assert frames.start_time == pytest.approx(7 / 24, abs=0.002)
        frame = frames.read(0)
        assert_frame_is(frame, 0)
        assert frame.time == pytest.approx(7 / 24, abs=0.002)
        assert frames.read(5).time - frame.time == pytest.approx(5 / 24, abs=0.002)


def test_h264_clip_really_has_b_frames_and_reorders(tmp_path):
    path = tc.write_index_movie(tmp_path / "b.mp4", codec="libx264", frames=N, bframes=2)
    with av.open(str(path)) as container:
        packets = [p.pts for p in container.demux(video=0) if p.pts is not None]
    assert packets != sorted(packets)  # decode order differs from presentation order
    with open_frames(path) as frames:
        assert [tc.decode_index(frames.read(i).rgb) for i in (39, 12, 13, 11, 0)] == \
            [39, 12, 13, 11, 0]


def test_frame_count_agrees_with_the_mp4_header(tmp_path):
    """mp4/mov store the sample count; the count from decoding must equal it."""
    path = tc.write_index_movie(tmp_path / "c.mp4", codec="libx264", frames=33, start_frame=4)
    with av.open(str(path)) as container:
        assert container.streams.video[0].frames == 33
    with open_frames(path) as frames:
        assert len(frames) == 33


def test_non_integer_frame_rate(tmp_path):
    path = tc.write_index_movie(tmp_path / "ntsc.mov", codec="mjpeg", frames=12,
                                fps=30, start_frame=3)
    with open_frames(path) as frames:
        assert frames.rate == 30 and [tc.decode_index(f.rgb) for f in frames] == list(range(12))


# -- movies with alpha, and mattes ------------------------------------------------------

def test_movie_alpha_is_read_exactly(tmp_path):
    path = tc.write_index_movie(tmp_path / "a.mov", codec="qtrle", frames=12, alpha=True,
                                start_frame=2)
    with open_frames(path) as frames:
        assert frames.has_alpha
        for i in (11, 3, 4):
            frame = frames.read(i)
            assert np.array_equal(frame.alpha, tc.index_matte(i, W, H) / np.float32(255))
            assert np.array_equal(frame.rgb, tc.index_frame(i, W, H) / np.float32(255))


@pytest.mark.parametrize("matte_kind", ["movie", "sequence"])
def test_matte_gives_alpha_to_an_rgb_movie(tmp_path, matte_kind):
    colour = tc.write_index_movie(tmp_path / "c.mkv", codec="ffv1", frames=20, start_frame=5)
    if matte_kind == "movie":
        matte = tc.write_index_movie(tmp_path / "m.mkv", codec="ffv1", frames=20, matte=True)
    else:
        tc.write_index_sequence(tmp_path / "m", frames=20, matte=True, first_number=1001)
        matte = str(tmp_path / "m" / "frame_%04d.png")
    # ffv1 stores the grey matte as limited-range YUV: levels come back within 1/255
    tolerance = 1.01 / 255 if matte_kind == "movie" else 1e-6
    with open_frames(colour, matte=matte) as frames:
        assert frames.has_alpha
        for i in (0, 17, 9):
            frame = frames.read(i)
            assert_frame_is(frame, i)
            assert np.allclose(frame.alpha, tc.index_matte(i, W, H) / 255.0, atol=tolerance)


def test_matte_from_an_rgba_sequence_uses_its_alpha(tmp_path):
    colour = tc.write_index_movie(tmp_path / "c.mkv", codec="ffv1", frames=6)
    tc.write_index_sequence(tmp_path / "m", frames=6, alpha=True)
    with open_frames(colour, matte=tmp_path / "m") as frames:
        assert frames.channel == "alpha"
        assert np.allclose(frames.read(4).alpha, tc.index_matte(4, W, H) / 255.0)
    with open_frames(colour, matte=tmp_path / "m", matte_channel="luminance") as frames:
        assert tc.decode_index(np.dstack([frames.read(4).alpha] * 3)) == 4  # the index picture


def test_matte_of_another_size_or_length_is_refused(tmp_path):
    colour = tc.write_index_movie(tmp_path / "c.mkv", codec="ffv1", frames=10)
    short = tc.write_index_movie(tmp_path / "s.mkv", codec="ffv1", frames=9, matte=True)
    small = tc.write_index_movie(tmp_path / "w.mkv", codec="ffv1", frames=10, matte=True,
                                 size=(32, 24))
    with pytest.raises(VideoError, match=r"the matte has 9 frames but the footage .* has 10"):
        open_frames(colour, matte=short)
    with pytest.raises(VideoError, match=r"the matte is 32 x 24 but the footage .* is 64 x 48"):
        open_frames(colour, matte=small)
    with pytest.raises(VideoError, match="the matte has no alpha channel"):
        open_frames(colour, matte=short, matte_channel="alpha")


# -- image sequences ----------------------------------------------------------------------

@pytest.mark.parametrize("spec", ["frame_%04d.png", "frame_####.png", "frame_*.png", ""])
def test_sequence_by_pattern_glob_or_folder(tmp_path, spec):
    tc.write_index_sequence(tmp_path / "seq", frames=12, first_number=998)
    with open_frames(str(tmp_path / "seq" / spec) if spec else tmp_path / "seq") as frames:
        assert len(frames) == 12 and frames.size == (W, H) and frames.fps is None
        assert frames.numbers == list(range(998, 1010))  # 998, 999, 1000, ... numerically
        order = list(range(12))
        random.Random(1).shuffle(order)
        for i in order:
            frame = frames.read(i)
            assert_frame_is(frame, i)
            assert frame.number == 998 + i and frame.alpha is None


def test_unpadded_numbers_sort_numerically(tmp_path):
    tc.write_index_sequence(tmp_path, frames=12, first_number=0, name="f%d.png")
    files = list_sequence(tmp_path / "f*.png")
    assert [f.number for f in files] == list(range(12))  # f10 after f9, not after f1
    assert [f.number for f in list_sequence(str(tmp_path / "f%d.png"))] == list(range(12))


def test_list_of_files_keeps_its_order(tmp_path):
    paths = tc.write_index_sequence(tmp_path, frames=5)
    with open_frames([paths[3], paths[0]], fps=25) as frames:
        assert [tc.decode_index(f.rgb) for f in frames] == [3, 0]
        assert frames.read(1).time == pytest.approx(1 / 25)


def test_rgba_png_gives_straight_alpha(tmp_path):
    tc.write_index_sequence(tmp_path, frames=3, alpha=True)
    with open_frames(tmp_path) as frames:
        frame = frames.read(2)
        assert frames.has_alpha
        assert np.array_equal(frame.alpha, tc.index_matte(2, W, H) / np.float32(255))
        assert np.array_equal(frame.rgb, tc.index_frame(2, W, H) / np.float32(255))
        a = frame.alpha[..., None]
        assert np.allclose(frame.composited((0.0, 0.5, 1.0)),
                           frame.rgb * a + np.array([0.0, 0.5, 1.0]) * (1 - a), atol=1e-7)


def test_sixteen_bit_png_keeps_every_bit(tmp_path):
    rng = np.random.default_rng(0)
    colour = rng.integers(0, 65536, size=(H, W, 4), dtype=np.uint16)
    grey = rng.integers(0, 65536, size=(H, W), dtype=np.uint16)
    tc.write_png16(tmp_path / "c_0001.png", colour)
    tc.write_png16(tmp_path / "g_0001.png", grey)
    frame = open_frames(tmp_path / "c_0001.png").read(0)
    assert np.array_equal(frame.rgb, colour[..., :3] / np.float32(65535))
    assert np.array_equal(frame.alpha, colour[..., 3] / np.float32(65535))
    grey_frame = open_frames(tmp_path / "g_0001.png").read(0)
    assert np.allclose(grey_frame.rgb, (grey / 65535.0)[..., None], atol=1e-7)


def test_sequence_with_an_image_of_another_size_is_refused(tmp_path):
    tc.write_index_sequence(tmp_path, frames=4)
    Image.new("RGB", (32, 24)).save(tmp_path / "frame_0003.png")
    with pytest.raises(VideoError, match=r"frame_0003.png: it is 32 x 24 but the sequence's "
                                         r"first image frame_0001.png is 64 x 48"):
        open_frames(tmp_path / "frame_%04d.png")


def test_empty_pattern_is_refused(tmp_path):
    with pytest.raises(VideoError, match=r"frame_%04d.png: no image files match it"):
        open_frames(tmp_path / "frame_%04d.png")
    with pytest.raises(VideoError, match="no image files match it"):
        open_frames(tmp_path / "*.png")


# -- compositing and resizing -------------------------------------------------------------

def test_composite_straight_and_premultiplied():
    rgba = np.array([[[1.0, 0.5, 0.0, 0.25], [0.2, 0.4, 0.6, 1.0]]], np.float32)
    bg = np.array([0.0, 1.0, 0.5])
    assert np.allclose(composite(rgba, bg), [[[0.25, 0.875, 0.375], [0.2, 0.4, 0.6]]])
    assert np.allclose(composite(rgba, bg, premultiplied=True),
                       [[[1.0, 1.25, 0.375], [0.2, 0.4, 0.6]]])
    with pytest.raises(VideoError, match=r"composite needs an RGBA image \[H, W, 4\]"):
        composite(rgba[..., :3])
    with pytest.raises(VideoError, match="background must be one grey level or an RGB"):
        composite(rgba, (0.0, 1.0))


def test_area_resize_averages_blocks_exactly():
    img = np.random.default_rng(1).random((6, 8, 3)).astype(np.float32)
    down = resize_area(img, 4, 3)
    assert np.allclose(down, img.reshape(3, 2, 4, 2, 3).mean(axis=(1, 3)), atol=1e-6)
    third = resize_area(img[:, :6], 4, 6)  # 6 -> 4 columns: weights 1, 0.5 | 0.5, 1 ...
    expected = (img[:, 0] + 0.5 * img[:, 1]) / 1.5
    assert np.allclose(third[:, 0], expected, atol=1e-6)
    for n, m in [(10, 3), (7, 7), (3, 10)]:
        assert np.allclose(axis_weights(n, m).sum(axis=1), 1.0)


def test_resizing_then_compositing_equals_compositing_then_resizing():
    rng = np.random.default_rng(2)
    frame = FrameImage(rng.random((24, 36, 3), dtype=np.float32),
                       rng.random((24, 36), dtype=np.float32), 0, 0, None, "x")
    bg = (0.1, 0.7, 0.3)
    assert np.allclose(frame.resized(12, 8).composited(bg),
                       resize_area(frame.composited(bg), 12, 8), atol=1e-5)


def test_projected_point_keeps_its_relative_place_after_resizing():
    K = np.array([[80.0, 0.0, 33.0], [0.0, 75.0, 21.0], [0.0, 0.0, 1.0]])
    camera = Camera(np.eye(4), K, 64, 48)
    points = np.array([[0.1, -0.2, 2.0], [-0.3, 0.25, 3.0]])
    small = scale_camera(camera, *fit_size((64, 48), 40))
    assert (small.width, small.height) == (40, 30)
    uv, uv_small = camera.project(points)[:, :2], small.project(points)[:, :2]
    assert np.allclose(uv / [64, 48], uv_small / [40, 30])


def test_resized_source_returns_tracking_size_frames(tmp_path):
    path = tc.write_index_movie(tmp_path / "c.mkv", codec="ffv1", frames=5)
    with open_frames(path, size=(32, 24)) as frames:
        frame = frames.read(3)
        assert frames.size == (32, 24) and frames.source_size == (W, H)
        full = open_frames(path).read(3)
        assert np.allclose(frame.rgb, full.rgb.reshape(24, 2, 32, 2, 3).mean(axis=(1, 3)),
                           atol=1e-6)
        camera = frames.camera(Camera(np.eye(4), np.diag([50.0, 50.0, 1.0]), W, H))
        assert np.allclose(camera.K[:2], [[25.0, 0.0, 0.0], [0.0, 25.0, 0.0]])


# -- errors -------------------------------------------------------------------------------

def test_missing_movie(tmp_path):
    with pytest.raises(VideoError, match=r"gone.mp4: file not found\. check the path"):
        open_frames(tmp_path / "gone.mp4")


def test_random_bytes_and_text_are_not_movies(tmp_path):
    (tmp_path / "noise.mp4").write_bytes(np.random.default_rng(0).bytes(4096))
    (tmp_path / "notes.txt").write_text("not a movie\n" * 20)
    for name in ("noise.mp4", "notes.txt"):
        with pytest.raises(VideoError, match=rf"{name}: FFmpeg cannot read it as a movie"):
            open_frames(tmp_path / name)


def test_truncated_movies_are_refused(tmp_path):
    for name in ("t.mp4", "t.mkv"):
        path = tc.write_index_movie(tmp_path / name, codec="libx264", frames=N)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match=r"t.mp4: FFmpeg cannot read it as a movie"):
        open_frames(tmp_path / "t.mp4")  # moov atom at the end: lost
    with pytest.raises(VideoError, match=r"t.mkv: only \d+ frames decode but its header "
                                         r"gives a length of 40 frames"):
        open_frames(tmp_path / "t.mkv")


def test_audio_only_file_has_no_video(tmp_path):
    path = tc.write_audio_only(tmp_path / "tone.wav")
    with pytest.raises(VideoError, match=r"tone.wav: it has no video stream \(it holds: audio\)"):
        open_frames(path)


def test_damaged_and_unsupported_images(tmp_path):
    (tmp_path / "bad_0001.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    (tmp_path / "x_0001.exr").write_bytes(b"v/1\x01" + b"\0" * 64)
    with pytest.raises(VideoError, match=r"bad_0001.png: Pillow cannot read it as an image"):
        open_frames(tmp_path / "bad_0001.png")
    with pytest.raises(VideoError, match=r"such as \.exr.*convert it to 8- or 16-bit PNG"):
        open_frames(tmp_path / "x_%04d.exr")


def test_out_of_range_and_bad_indices(tmp_path):
    path = tc.write_index_movie(tmp_path / "c.mp4", codec="libx264", frames=10)
    tc.write_index_sequence(tmp_path / "s", frames=3)
    with open_frames(path) as movie, open_frames(tmp_path / "s") as sequence:
        with pytest.raises(FrameRangeError, match=r"frame index 10 is out of range: it has 10 "
                                                  r"frames, valid indices are 0 to 9"):
            movie.read(10)
        with pytest.raises(FrameRangeError, match="valid indices are 0 to 2"):
            sequence.read(-1)
        with pytest.raises(VideoError, match="frame index must be a whole number, got 1.5"):
            movie.read(1.5)
        assert_frame_is(movie.read(9), 9)  # still usable after the errors


def test_fps_given_for_a_movie_must_match(tmp_path):
    path = tc.write_index_movie(tmp_path / "c.mp4", codec="libx264", frames=5, fps=24)
    with pytest.raises(VideoError, match="fps=25 was given but the movie runs at 24 fps"):
        open_frames(path, fps=25)


def test_premultiplied_files_come_back_straight(tmp_path):
    straight = np.zeros((H, W, 4), np.uint8)
    straight[..., :3], straight[..., 3] = (200, 100, 50), 128
    stored = straight.copy()
    stored[..., :3] = np.round(straight[..., :3] * (128 / 255)).astype(np.uint8)
    Image.fromarray(stored).save(tmp_path / "p_0001.png")
    frame = open_frames(tmp_path / "p_0001.png", premultiplied=True).read(0)
    assert np.allclose(frame.rgb[0, 0], np.array([200, 100, 50]) / 255, atol=0.5 / 128)
    assert np.allclose(frame.composited(0.0), stored[..., :3] / 255.0, atol=1e-6)


def test_importing_the_video_package_loads_no_torch_av_or_pillow():
    import subprocess
    import sys

    code = ("import sys, spectralsplats_addon.engine.video; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'av', 'PIL', 'bpy'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_raw_stream_without_timestamps_is_refused(tmp_path):
    source = tc.write_index_movie(tmp_path / "a.mkv", codec="libx264", frames=20)
    with av.open(str(source)) as inp, av.open(str(tmp_path / "a.h264"), "w") as out:
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(video=0):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    with pytest.raises(VideoError, match=r"a.h264: its frames carry no timestamps.*remux it"):
        open_frames(tmp_path / "a.h264")
