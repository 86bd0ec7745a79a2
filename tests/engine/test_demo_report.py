"""The tracking report: scores against a known motion, and the page with its images."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spectralsplats_addon.engine.deform.pose import asset_size
from spectralsplats_addon.engine.result import TrackResult
from spectralsplats_addon.lab.demo_report import (ReportRun, control_point_error, score_run,
                                                     summary_lines, write_report)
from spectralsplats_addon.lab.examples import known_motion


@pytest.fixture(scope="module")
def motion():
    return known_motion("articulated", num_frames=3, size=32)


def _rest(motion) -> TrackResult:
    f, p = motion.num_frames, motion.rig.num_control_points
    return TrackResult(motion.frames, np.tile([1.0, 0, 0, 0], (f, p, 1)), np.zeros((f, p, 3)))


def test_the_truth_scores_perfectly_and_the_rest_pose_by_its_displacement(motion):
    truth = score_run(motion, motion.truth())
    assert all(math.isinf(v) for v in truth.psnr_train) and np.all(truth.control_point_error == 0)
    rest = score_run(motion, _rest(motion))
    size = asset_size(motion.splats.to_torch())
    expected = np.linalg.norm(motion.translations, axis=-1).mean(-1) / size
    assert np.allclose(rest.control_point_error, expected)
    assert expected[-1] > 0.01 and np.isfinite(rest.psnr_train[-1]) and rest.psnr_train[-1] < 40
    assert np.allclose(control_point_error(motion, _rest(motion)), expected)


def test_report_page_names_every_run_and_its_images_exist(motion, tmp_path):
    runs = [ReportRun("pixel", _rest(motion), 3.0), ReportRun("spectral", motion.truth(), 4.0)]
    page, scores = write_report(tmp_path, motion, runs, shown_frames=2)
    text = page.read_text()
    for name in ("frame_0001.png", "frame_0003.png", "scores.png"):
        assert (tmp_path / name).is_file() and f'src="{name}"' in text
    assert "<td>pixel</td>" in text and "<td>spectral</td>" in text
    from PIL import Image

    width = Image.open(tmp_path / "frame_0003.png").size[0]
    assert width == 4 * 32 + 3 * 4  # start | target | pixel | spectral, 4 px gaps
    lines = summary_lines(runs, scores)
    assert lines[1].startswith("spectral: PSNR inf dB") and "0.00 % of the size" in lines[1]


def test_a_run_of_another_clip_is_refused(motion):
    other = TrackResult([1, 2], np.tile([1.0, 0, 0, 0], (2, motion.rig.num_control_points, 1)),
                        np.zeros((2, motion.rig.num_control_points, 3)))
    with pytest.raises(ValueError, match=r"tracked frames \[1, 2\] but the motion has \[1, 2, 3\]"):
        score_run(motion, other, "short")
