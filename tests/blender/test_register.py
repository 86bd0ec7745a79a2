"""The extension registers and unregisters cleanly, twice, without touching bpy.context."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import bpy
import pytest

import spectralsplats_addon

CLASS_NAMES = ("SPECTRALSPLATS_OT_import_ply", "SPECTRALSPLATS_OT_rig", "SPECTRALSPLATS_OT_bake",
               "SPECTRALSPLATS_FH_import_ply", "SPECTRALSPLATS_AP_preferences",
               "SPECTRALSPLATS_OT_check_environment", "SPECTRALSPLATS_OT_setup_environment",
               "SPECTRALSPLATS_OT_check_inputs", "SPECTRALSPLATS_PT_main",
               "SpectralSplatsTrackSettings", "SPECTRALSPLATS_OT_track",
               "SPECTRALSPLATS_OT_track_cancel", "SPECTRALSPLATS_OT_lock_frame",
               "SPECTRALSPLATS_OT_refine", "SPECTRALSPLATS_OT_preview_fit",
               "SPECTRALSPLATS_OT_export_shots", "SPECTRALSPLATS_OT_import_results")


def our_classes():
    """Every class the Blender layer's modules declare for registration."""
    from spectralsplats_addon import blender

    return [cls for module in blender._modules for cls in module.classes]


def our_menu_funcs():
    """Our draw functions in File > Import and the 3D view's Object menu."""
    menus = (bpy.types.TOPBAR_MT_file_import, bpy.types.VIEW3D_MT_object)
    return [f for menu in menus for f in menu._dyn_ui_initialize()
            if getattr(f, "__module__", "").startswith("spectralsplats_addon")]


@pytest.fixture
def unregistered():
    """The add-on unregistered for the test, and restored to its earlier state after."""
    was_registered = hasattr(bpy.types, "SPECTRALSPLATS_OT_import_ply")
    if was_registered:
        spectralsplats_addon.unregister()
    yield
    if was_registered:
        spectralsplats_addon.register()


def test_register_unregister_twice_leaves_nothing_behind(unregistered):
    for _ in range(2):
        spectralsplats_addon.register()
        assert sorted(cls.__name__ for cls in our_classes()) == sorted(CLASS_NAMES)
        assert all(cls.is_registered for cls in our_classes())
        assert len(our_menu_funcs()) == 4
        assert {"import_ply", "rig", "bake", "track", "track_cancel", "export_shots",
                "import_results"} <= set(
            dir(bpy.ops.spectralsplats))
        spectralsplats_addon.unregister()
        assert not any(cls.is_registered for cls in our_classes()), "a class left registered"
        assert not hasattr(bpy.types, "SPECTRALSPLATS_OT_import_ply")
        assert not hasattr(bpy.types.Scene, "spectralsplats_track")
        assert our_menu_funcs() == []


def test_import_and_register_never_touch_bpy_context():
    """bpy.context is swapped for a trap before the add-on is imported and registered."""
    code = textwrap.dedent("""
        import bpy

        class Trap:
            def __getattr__(self, name):
                raise AssertionError(f"bpy.context.{name} used at import or register time")

        real, bpy.context = bpy.context, Trap()
        import spectralsplats_addon
        spectralsplats_addon.register()
        spectralsplats_addon.unregister()
        spectralsplats_addon.register()
        bpy.context = real
        spectralsplats_addon.unregister()
        print("OK")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "OK" in done.stdout, done.stderr[-2000:]
