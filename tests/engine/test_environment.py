"""The tracker-environment check and the set-up's pins."""

from __future__ import annotations

import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from spectralsplats_addon.engine import environment

ROOT = Path(__file__).resolve().parents[2]


def test_check_reports_this_interpreter_truthfully():
    info = environment.check_interpreter(sys.executable)
    assert info["packages"]["torch"] == metadata.version("torch")
    assert info["packages"]["gsplat"] == metadata.version("gsplat")
    import torch

    assert info["cuda"] == torch.cuda.is_available()
    line = environment.summary(info)
    assert f"torch {metadata.version('torch')}" in line and "CPU" in line


def test_summary_says_what_to_do_without_torch():
    line = environment.summary({"python": "3.11.0", "packages": {"torch": None}})
    assert "torch is not installed" in line and "Set up tracker environment" in line


def test_a_missing_interpreter_is_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match="could not run the tracker interpreter.*preferences"):
        environment.check_interpreter(str(tmp_path / "nope" / "python"))


def test_setup_pins_are_the_projects_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = set(project["dependencies"]) - {"torch>=2.4"}
    assert set(environment.TRACKER_REQUIREMENTS) == deps
    assert set(environment.GSPLAT_REQUIREMENTS) == set(project["optional-dependencies"]["gsplat"])
    steps = environment.setup_steps("/tmp/env", "/usr/bin/python3", with_gsplat=True)
    assert steps[0] == ["/usr/bin/python3", "-m", "venv", "/tmp/env"]
    assert steps[2][-1] == environment.TORCH_REQUIREMENT == "torch==2.13.0"  # torch first
    assert steps[-1][-2:] == list(environment.GSPLAT_REQUIREMENTS)
