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
