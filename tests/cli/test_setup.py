"""The README's set-up: the environment is reused, not reinstalled, on a second run."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_second_run_finds_the_environment_up_to_date():
    """`make -q` exits 0 only when the install stamp is newer than pyproject.toml."""
    stamp = ROOT / ".venv" / ".installed"
    assert stamp.exists(), "run `make test` (which creates .venv) to run this test"
    assert stamp.stat().st_mtime >= (ROOT / "pyproject.toml").stat().st_mtime
    done = subprocess.run(["make", "-q", ".venv/.installed"], cwd=ROOT)
    assert done.returncode == 0, "make would reinstall the environment"
    dry = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True)
    assert "pip install" not in dry.stdout
    assert "pytest" in dry.stdout
