"""Object > Bake Tracked Motion: keyframes from a result.npz, in one undo step."""

from __future__ import annotations

import bpy
from bpy.props import StringProperty
from bpy.types import Operator
from bpy_extras.io_utils import ImportHelper

from .operator_errors import reports_errors


class SPECTRALSPLATS_OT_bake(Operator, ImportHelper):
    """Bake a tracking result (result.npz) into keyframes on the active splat object's rig
    (or on the object itself for a rigid result); keys inside the tracked frame range are
    replaced, keys outside it are kept"""

    bl_idname = "spectralsplats.bake"
    bl_label = "Bake Tracked Motion"
    bl_options = {"REGISTER", "UNDO"}

    filename_ext = ".npz"
    filter_glob: StringProperty(default="*.npz", options={"HIDDEN"})

    @classmethod
    def poll(cls, context):
        from .point_object import poll_splat_object

        return poll_splat_object(cls, context)

    @reports_errors
    def execute(self, context):
        from ..engine.result import TrackResult
        from .bake import bake_result

        report = bake_result(context.active_object, TrackResult.load(self.filepath))
        self.report({"INFO"}, f"Baked {report.frames} frames into {report.fcurves} channels "
                              f"of {report.target!r}")
        return {"FINISHED"}


def menu_func(self, context):
    self.layout.operator(SPECTRALSPLATS_OT_bake.bl_idname)


classes = (SPECTRALSPLATS_OT_bake,)

menus = ((bpy.types.VIEW3D_MT_object, menu_func),)
