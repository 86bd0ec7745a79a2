"""Test-wide hooks: OpenMP threads that sleep when idle; tests marked ``gpu`` skip where no
CUDA device is present."""

from __future__ import annotations

import os

# Before any test module imports torch: see spectralsplats_addon/engine/__init__.py.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402


def pytest_collection_modifyitems(config, items):
    gpu_items = [item for item in items if item.get_closest_marker("gpu") is not None]
    if not gpu_items:
        return
    import torch  # only sessions that collected GPU tests pay for the import

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (torch.cuda.is_available() is False)")
    for item in gpu_items:
        item.add_marker(skip)
