"""Preferences: the tracker interpreter, checking it, and the guarded set-up."""

from __future__ import annotations

import sys

import bpy
import pytest

from spectralsplats_addon.blender.preferences import tracker_python


def test_default_interpreter_is_blenders_own_when_torch_is_there(addon):
    assert tracker_python(bpy.context) == sys.executable


def test_check_environment_runs_the_interpreter(addon, capfd):
    assert bpy.ops.spectralsplats.check_environment() == {"FINISHED"}
    from importlib import metadata

    assert f"torch {metadata.version('torch')}" in capfd.readouterr().out


def test_setup_refuses_without_online_access(addon):
    assert bpy.app.online_access is False  # the default for a background Blender
    with pytest.raises(RuntimeError, match="Online access is off"):
        bpy.ops.spectralsplats.setup_environment()
