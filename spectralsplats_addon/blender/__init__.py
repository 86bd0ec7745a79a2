"""The Blender layer: operators, panels and data glue. Never imports torch."""

from __future__ import annotations

from . import bake_operator, import_operator, panel, preferences, rig_operator, track_settings

_modules = (preferences, track_settings, import_operator, rig_operator, bake_operator, panel)


def register() -> None:
    for module in _modules:
        module.register()


def unregister() -> None:
    for module in reversed(_modules):
        module.unregister()
