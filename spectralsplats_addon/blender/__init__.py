"""The Blender layer: operators, panels and data glue. Never imports torch.

Each module declares ``classes`` (registered in order, unregistered in reverse), and may
declare ``menus`` ((menu, draw function) pairs) and ``register_properties`` /
``unregister_properties`` for properties it adds to Blender's types.
"""

from __future__ import annotations

import bpy

from . import (bake_operator, farm_operators, import_operator, panel, preferences,
               preview_operator, refine_operator, rig_operator, track_operator, track_settings)

_modules = (preferences, track_settings, import_operator, rig_operator, bake_operator,
            track_operator, refine_operator, preview_operator, farm_operators, panel)


def register() -> None:
    for module in _modules:
        for cls in module.classes:
            bpy.utils.register_class(cls)
        for menu, draw in getattr(module, "menus", ()):
            menu.append(draw)
        if hasattr(module, "register_properties"):
            module.register_properties()


def unregister() -> None:
    for module in reversed(_modules):
        if hasattr(module, "unregister_properties"):
            module.unregister_properties()
        for menu, draw in getattr(module, "menus", ()):
            menu.remove(draw)
        for cls in reversed(module.classes):
            bpy.utils.unregister_class(cls)
