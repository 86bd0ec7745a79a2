"""Operators relay the project's own errors as advice, and show anything else as a bug."""

from __future__ import annotations

from pathlib import Path

import bpy
import pytest

from spectralsplats_addon.engine import rig as engine_rig
from spectralsplats_addon.engine.errors import RigError

LOD3 = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real_splats" / "lod3.ply"


@pytest.fixture
def splat_object(addon):
    bpy.ops.spectralsplats.import_ply(filepath=str(LOD3))
    return bpy.context.active_object


def _fail(error: Exception):
    def build_rig(*args, **kwargs):
        raise error
    return build_rig


def test_an_unexpected_error_is_a_bug_report_with_its_traceback_in_the_console(
        splat_object, monkeypatch, capfd):
    monkeypatch.setattr(engine_rig, "build_rig", _fail(RuntimeError("index 7 out of range")))
    with pytest.raises(RuntimeError) as raised:
        bpy.ops.spectralsplats.rig(control_points=8)
    message = str(raised.value)
    assert "Rig Gaussian Splats failed with an unexpected RuntimeError: this is a bug, please " \
           "report it; details in the system console" in message
    assert "index 7 out of range" not in message and "Traceback" not in message
    console = capfd.readouterr().err
    assert "Traceback (most recent call last)" in console
    assert "RuntimeError: index 7 out of range" in console and "build_rig" in console
    assert not [o for o in bpy.data.objects if o.type == "ARMATURE"]


def test_a_project_error_is_relayed_as_advice(splat_object, monkeypatch, capfd):
    monkeypatch.setattr(engine_rig, "build_rig", _fail(RigError("too few splats: import more")))
    with pytest.raises(RuntimeError, match=r"too few splats: import more") as raised:
        bpy.ops.spectralsplats.rig(control_points=8)
    assert "this is a bug" not in str(raised.value)
    assert "Traceback" not in capfd.readouterr().err


def test_a_plain_value_error_is_a_bug_not_advice(splat_object, monkeypatch):
    """Before: operators caught ValueError too, so a programming error read as advice."""
    monkeypatch.setattr(engine_rig, "build_rig", _fail(ValueError("operands could not be "
                                                                  "broadcast together")))
    with pytest.raises(RuntimeError, match="unexpected ValueError: this is a bug"):
        bpy.ops.spectralsplats.rig(control_points=8)


def test_check_inputs_shows_a_bug_for_an_unexpected_error(splat_object, monkeypatch):
    from spectralsplats_addon.blender import track_settings

    def broken(context, settings):
        raise KeyError("strip")

    monkeypatch.setattr(track_settings, "resolve_inputs", broken)
    with pytest.raises(RuntimeError, match="Check Tracking Inputs failed with an unexpected "
                                           "KeyError: this is a bug"):
        bpy.ops.spectralsplats.check_inputs()
