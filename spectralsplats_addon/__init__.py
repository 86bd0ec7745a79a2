"""SpectralSplats for Blender: register()/unregister() only.

Importing this package loads neither bpy nor torch, so the engine and its worker run in any
Python; the Blender layer is imported when Blender registers the extension.
"""


def register() -> None:
    from . import blender

    blender.register()


def unregister() -> None:
    from . import blender

    blender.unregister()
