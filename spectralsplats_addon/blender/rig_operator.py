"""Object > Rig Gaussian Splats: control points, an armature and skinning weights."""

from __future__ import annotations

import bpy
from bpy.props import IntProperty
from bpy.types import Operator

from .operator_errors import reports_errors


class SPECTRALSPLATS_OT_rig(Operator):
    """Rig the active splat object with sparse control points: one bone per control point,
    skinning weights in vertex groups, deformed by an Armature modifier (replaces an
    earlier rig). A splat cloud from Blender 5.3's own importer becomes a splat object first"""

    bl_idname = "spectralsplats.rig"
    bl_label = "Rig Gaussian Splats"
    bl_options = {"REGISTER", "UNDO"}

    control_points: IntProperty(name="Control Points", default=512, min=1, soft_max=2048,
                                description="Bones to place by farthest point sampling "
                                            "(small assets get at most one per 8 splats)")
    neighbours: IntProperty(name="Neighbours (K)", default=4, min=1, max=16,
                            description="Control points that move each splat")
    seed: IntProperty(name="Seed", default=0, min=0,
                      description="Seed of the first control point (the rest follow from it)")

    @classmethod
    def poll(cls, context):
        from .compat import is_native_splat_cloud
        from .point_object import poll_splat_object

        if is_native_splat_cloud(context.active_object):  # Blender 5.3+'s own import
            return context.mode == "OBJECT"
        return poll_splat_object(cls, context)

    @reports_errors
    def execute(self, context):
        from ..engine.errors import SpectralSplatsError
        from ..engine.rig import build_rig
        from .armature_rig import build_armature
        from .compat import is_native_splat_cloud
        from .native_splats import adopt_cloud
        from .point_object import splats_from_object

        obj = context.active_object
        try:
            if is_native_splat_cloud(obj):
                obj = adopt_cloud(obj, context)
            rig = build_rig(splats_from_object(obj).means, self.control_points, self.neighbours,
                            seed=self.seed)
        except SpectralSplatsError as error:
            self.report({"ERROR"}, f"{obj.name}: {error}")
            return {"CANCELLED"}
        arm_obj = build_armature(obj, rig)
        context.view_layer.objects.active = obj
        self.report({"INFO"}, f"Rigged {obj.name!r} with {rig.num_control_points} control points "
                              f"(K={rig.indices.shape[1]}) in {arm_obj.name!r}")
        return {"FINISHED"}


def menu_func(self, context):
    self.layout.operator(SPECTRALSPLATS_OT_rig.bl_idname)


classes = (SPECTRALSPLATS_OT_rig,)

menus = ((bpy.types.VIEW3D_MT_object, menu_func),)
