"""The extension's preferences: which Python runs the tracker, and checking or setting it up.

The tracker (torch, numba, optionally gsplat) runs in a worker process, never inside
Blender's Python. Its interpreter is, in order: the one named here; Blender's own when
torch is installed there (as with the PyPI bpy module in one environment); the environment
made by "Set up tracker environment" in the extension's user folder.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import bpy
from bpy.props import StringProperty
from bpy.types import AddonPreferences, Operator

from ..engine import environment
from .operator_errors import reports_errors

ADDON_ID = __package__.rpartition(".")[0]  # the extension's module, however it is installed
ENV_FOLDER = "tracker-env"


def env_dir(create: bool = False) -> str:
    """The tracker environment folder in the extension's user folder."""
    try:
        return bpy.utils.extension_path_user(ADDON_ID, path=ENV_FOLDER, create=create)
    except ValueError:  # registered as a plain add-on, not an extension
        scripts = bpy.utils.user_resource("SCRIPTS", path="spectralsplats", create=create)
        return os.path.join(scripts, ENV_FOLDER)


def preferences(context):
    addon = context.preferences.addons.get(ADDON_ID)
    return addon.preferences if addon is not None else None


def tracker_python(context) -> str:
    """The interpreter that runs the tracker (see the module docstring)."""
    prefs = preferences(context)
    if prefs is not None and prefs.tracker_python:
        return bpy.path.abspath(prefs.tracker_python)
    if importlib.util.find_spec("torch") is not None:  # looked up, not imported
        return sys.executable
    made = environment.env_python(env_dir())
    return made if os.path.exists(made) else sys.executable


class SPECTRALSPLATS_AP_preferences(AddonPreferences):
    bl_idname = ADDON_ID

    tracker_python: StringProperty(
        name="Tracker Python", subtype="FILE_PATH", default="",
        description="Python interpreter with torch that runs the tracker; empty: Blender's own "
                    "if torch is installed there, else the environment set up below")
    last_check: StringProperty(name="Last check", default="", options={"SKIP_SAVE"})

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "tracker_python")
        layout.label(text=f"In use: {tracker_python(context)}")
        row = layout.row()
        row.operator(SPECTRALSPLATS_OT_check_environment.bl_idname, icon="INFO")
        row.operator(SPECTRALSPLATS_OT_setup_environment.bl_idname, icon="IMPORT")
        if self.last_check:
            layout.label(text=self.last_check)


class SPECTRALSPLATS_OT_check_environment(Operator):
    """Report the tracker interpreter's Python, torch and gsplat versions and its devices
    (CUDA, MPS)"""

    bl_idname = "spectralsplats.check_environment"
    bl_label = "Check Tracker Environment"

    @reports_errors
    def execute(self, context):
        info = environment.check_interpreter(tracker_python(context))
        line = environment.summary(info)
        prefs = preferences(context)
        if prefs is not None:
            prefs.last_check = line
        self.report({"INFO"} if info["packages"].get("torch") else {"WARNING"}, line)
        return {"FINISHED"}


class SPECTRALSPLATS_OT_setup_environment(Operator):
    """Create a Python environment in the extension's user folder and install the tracker's
    packages into it (downloads about 1 GB; needs Allow Online Access)"""

    bl_idname = "spectralsplats.setup_environment"
    bl_label = "Set up Tracker Environment"

    _steps: list = []
    _process = None
    _timer = None

    @reports_errors
    def execute(self, context):
        if not bpy.app.online_access:
            self.report({"ERROR"}, "Online access is off: allow it in Preferences > System > "
                                   "Network, or install torch yourself and name its Python here")
            return {"CANCELLED"}
        with_gsplat = sys.platform != "darwin"
        self._steps = environment.setup_steps(env_dir(create=True), sys.executable, with_gsplat)
        if bpy.app.background:
            for step in self._steps:
                if subprocess.run(step).returncode != 0:
                    self.report({"ERROR"}, f"failed: {' '.join(step)}")
                    return {"CANCELLED"}
            return {"FINISHED"}
        self._next(context)
        self._timer = context.window_manager.event_timer_add(0.5, window=context.window)
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def _next(self, context) -> None:
        step = self._steps.pop(0)
        context.workspace.status_text_set(f"SpectralSplats set-up: {' '.join(step[2:])}")
        self._process = subprocess.Popen(step, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def modal(self, context, event):
        if event.type == "ESC":
            self._process.terminate()
            return self._finish(context, "Set-up cancelled", {"WARNING"}, {"CANCELLED"})
        if event.type != "TIMER" or self._process.poll() is None:
            return {"PASS_THROUGH"}
        if self._process.returncode != 0:
            error = self._process.stderr.read().decode(errors="replace").strip().splitlines()
            return self._finish(context, f"Set-up failed: {error[-1] if error else 'see console'}",
                                {"ERROR"}, {"CANCELLED"})
        if self._steps:
            self._next(context)
            return {"RUNNING_MODAL"}
        return self._finish(context, f"Tracker environment ready in {env_dir()}", {"INFO"},
                            {"FINISHED"})

    def _finish(self, context, message, level, result):
        context.window_manager.event_timer_remove(self._timer)
        context.workspace.status_text_set(None)
        self.report(level, message)
        return result


classes = (SPECTRALSPLATS_OT_check_environment, SPECTRALSPLATS_OT_setup_environment,
           SPECTRALSPLATS_AP_preferences)

