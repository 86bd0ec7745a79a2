"""result.npz: round trip, atomic write, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from spectralsplats_addon.engine.result import ResultError, TrackResult


def make(f=3, p=5, **over):
    rng = np.random.default_rng(0)
    q = rng.normal(size=(f, p, 4))
    fields = dict(frames=np.arange(10, 10 + f),
                  rotations=q / np.linalg.norm(q, axis=-1, keepdims=True),
                  translations=rng.normal(size=(f, p, 3)))
    fields.update(over)
    return TrackResult(**fields)


def test_round_trip(tmp_path):
    r = make(model="rigid", losses=[0.1, 0.2, 0.3], complete=False, extra={"seed": np.array([4])})
    r.save(tmp_path / "result.npz")
    back = TrackResult.load(tmp_path / "result.npz")
    for name in ("frames", "rotations", "translations", "object_matrices", "losses"):
        assert np.array_equal(getattr(back, name), getattr(r, name)), name
    assert back.model == "rigid" and back.complete is False and back.extra["seed"][0] == 4
    assert np.isnan(back.psnr).all() and np.array_equal(back.object_matrices[1], np.eye(4))
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("over, message", [
    ({"frames": [3, 2, 4]}, "increasing"),
    ({"translations": np.zeros((3, 4, 3))}, r"translations must be \[F=3, P=5, 3\]"),
    ({"rotations": np.zeros((3, 5, 3))}, r"rotations must be \[F=3, P, 4\]"),
    ({"model": "spline"}, "'spline' is not one of rigid, direct, mlp"),
    ({"translations": np.full((3, 5, 3), np.nan)}, "NaN or Inf: the tracking diverged"),
])
def test_inconsistent_results_are_refused(over, message):
    with pytest.raises(ResultError, match=message):
        make(**over)


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(ResultError, match="no result file there"):
        TrackResult.load(tmp_path / "result.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ResultError, match="not a readable result file"):
        TrackResult.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ResultError, match="missing frames, rotations, translations, version"):
        TrackResult.load(tmp_path / "other.npz")


def npy_claiming(shape: tuple, data: bytes = b"") -> bytes:
    """An .npy header claiming ``shape`` float32, followed by ``data`` only."""
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False,
                                                  "shape": shape})
    return buffer.getvalue() + data


def damaged_files(folder):
    """name -> a damaged result.npz written there."""
    import zipfile

    good = folder / "good.npz"
    make().save(good)
    files = {"empty": b"", "truncated": good.read_bytes()[:300]}
    for name, data in files.items():
        (folder / f"{name}.npz").write_bytes(data)
    np.savez_compressed(folder / "bomb.npz", version=np.int64(1), frames=np.arange(3),
                        rotations=np.zeros((3, 2_000_000, 4), np.float32),
                        translations=np.zeros((3, 2_000_000, 3), np.float32))
    with zipfile.ZipFile(folder / "huge_header.npz", "w") as archive:
        archive.writestr("version.npy", npy_claiming((1 << 40,), b"\0" * 16))
    np.savez(folder / "text.npz", version=np.array(["one"]), frames=np.array(["a", "b"]),
             rotations=np.zeros((2, 1, 4)), translations=np.zeros((2, 1, 3)))
    np.savez(folder / "text_frames.npz", version=np.int64(1), frames=np.array(["a", "b"]),
             rotations=np.zeros((2, 1, 4)), translations=np.zeros((2, 1, 3)))
    return ["empty", "truncated", "bomb", "huge_header", "text", "text_frames"]


def test_damaged_or_oversized_files_are_a_result_error_naming_the_file(tmp_path):
    """Empty, truncated, a 160 KB file expanding to 168 MB, a header claiming 4 TiB, arrays of
    text: each a ResultError before anything large is allocated."""
    for name in damaged_files(tmp_path):
        with pytest.raises(ResultError, match=rf"{name}\.npz: "):
            TrackResult.load(tmp_path / f"{name}.npz")
    assert (tmp_path / "bomb.npz").stat().st_size < 1_000_000
