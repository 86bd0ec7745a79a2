"""The Blender layer: operators, panels and data glue. Never imports torch."""

from __future__ import annotations

from . import bake_operator, import_operator, preferences, rig_operator

_modules = (preferences, import_operator, rig_operator, bake_operator)


def register() -> None:
    for module in _modules:
        module.register()


def unregister() -> None:
    for module in reversed(_modules):
        module.unregister()
