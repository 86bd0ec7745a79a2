"""Fixtures for tests against the real bpy module (Blender as a Python module)."""

from __future__ import annotations

import bpy
import pytest

import spectralsplats_addon

pytestmark = pytest.mark.bpy


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/blender" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.bpy)


@pytest.fixture(scope="session")
def addon():
    """The extension registered once for the session (unregistered at the end)."""
    spectralsplats_addon.register()
    yield spectralsplats_addon
    spectralsplats_addon.unregister()


@pytest.fixture(autouse=True)
def empty_file():
    """Every test starts from an empty factory-settings file."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    yield
