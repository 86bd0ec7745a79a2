"""The SpectralSplats tab of the 3D view's sidebar, and the Check Tracking Inputs operator."""

from __future__ import annotations

from bpy.types import Operator, Panel

from . import track_operator
from .compat import all_strips_name
from .operator_errors import reports_errors


class SPECTRALSPLATS_OT_check_inputs(Operator):
    """Check that the splats, camera, strip and frame range can be tracked, and say which
    footage frames each scene frame will use"""

    bl_idname = "spectralsplats.check_inputs"
    bl_label = "Check Tracking Inputs"

    @reports_errors
    def execute(self, context):
        from ..engine.conventions import camera_from_blender
        from .armature_rig import find_rig
        from .camera_data import blender_camera_from_object
        from .strip_source import strip_frames
        from .track_settings import resolve_inputs

        settings = context.scene.spectralsplats_track
        inputs = resolve_inputs(context, settings)
        frames = strip_frames(inputs.strip, inputs.first, inputs.last)
        camera = camera_from_blender(blender_camera_from_object(inputs.camera, context.scene))
        if settings.model != "rigid" and find_rig(inputs.target) is None:
            self.report({"ERROR"}, f"{inputs.target.name!r} has no rig, which the "
                                   f"{settings.model} model moves: use Rig Gaussian Splats first")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Ready: {len(frames)} frames ({inputs.first}-{inputs.last}) of "
                              f"{inputs.strip.name!r} ({frames[0].kind} frames "
                              f"{frames[0].index}-{frames[-1].index}) seen by "
                              f"{inputs.camera.name!r} "
                              f"at {camera.width} x {camera.height}; output in {inputs.output_dir}")
        return {"FINISHED"}


class SPECTRALSPLATS_PT_main(Panel):
    """Import, rig, track and bake Gaussian splats"""

    bl_label = "SpectralSplats"
    bl_idname = "SPECTRALSPLATS_PT_main"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "SpectralSplats"

    def draw(self, context):
        from .armature_rig import find_rig
        from .point_object import is_splat_object

        layout = self.layout
        settings = context.scene.spectralsplats_track
        layout.operator("spectralsplats.import_ply", icon="IMPORT")
        target = settings.target or context.active_object
        col = layout.column(align=True)
        col.prop(settings, "target")
        if is_splat_object(target):
            rig = find_rig(target)
            col.label(text=f"{len(target.data.vertices):,} splats; "
                           + (f"rig of {len(rig.data.bones)} bones" if rig else "not rigged"))
        col.operator("spectralsplats.rig", icon="ARMATURE_DATA")

        box = layout.box()
        box.label(text="Track", icon="TRACKER")
        if context.scene.sequence_editor:
            editor = context.scene.sequence_editor
            box.prop_search(settings, "strip", editor, all_strips_name(editor))
        else:
            box.label(text="Add a movie strip in the Video Sequencer", icon="INFO")
        box.prop(settings, "camera")
        row = box.row(align=True)
        row.prop(settings, "use_strip_range")
        sub = row.row(align=True)
        sub.enabled = not settings.use_strip_range
        sub.prop(settings, "frame_start")
        sub.prop(settings, "frame_end")
        draw_plate(box, settings, context.scene.sequence_editor)
        for name in ("model", "loss", "preset", "iterations", "resolution", "device",
                     "output_dir", "bake"):
            box.prop(settings, name)
        box.operator(SPECTRALSPLATS_OT_check_inputs.bl_idname, icon="CHECKMARK")
        draw_track_controls(box, context.window_manager)
        layout.operator("spectralsplats.bake", icon="KEYINGSET")


def draw_plate(layout, settings, editor) -> None:
    """Matte, background and colour match; the warning when nothing tells the object from
    its background (track_settings.plate_warning)."""
    from .track_settings import plate_warning

    col = layout.column(align=True)
    col.prop(settings, "matte")
    if settings.matte == "STRIP" and editor is not None:
        col.prop_search(settings, "matte_strip", editor, all_strips_name(editor))
        col.prop(settings, "matte_channel")
    col.prop(settings, "background")
    if settings.background == "clean_plate" and editor is not None:
        col.prop_search(settings, "clean_plate_strip", editor, all_strips_name(editor))
    col.prop(settings, "appearance")
    warning = plate_warning(settings)
    if warning:
        col.label(text=warning, icon="ERROR")


def draw_track_controls(layout, wm) -> None:
    """The Track button, or while a run goes on its progress bar and a Cancel button."""
    if not wm.spectralsplats_track_running:
        layout.operator(track_operator.SPECTRALSPLATS_OT_track.bl_idname, icon="PLAY")
        return
    row = layout.row(align=True)
    if hasattr(row, "progress"):  # Blender 4.0+
        row.progress(factor=wm.spectralsplats_track_progress, type="BAR",
                     text=f"{wm.spectralsplats_track_progress:.0%}")
    else:
        row.label(text=f"{wm.spectralsplats_track_progress:.0%}")
    row.operator(track_operator.SPECTRALSPLATS_OT_track_cancel.bl_idname, text="", icon="CANCEL")
    layout.label(text=wm.spectralsplats_track_status)


# The Track operators register with the panel that drives them.
classes = (SPECTRALSPLATS_OT_check_inputs, SPECTRALSPLATS_PT_main)

