"""File > Import > Gaussian Splat (.ply), and drag-and-drop of .ply/.splat files."""

from __future__ import annotations

import os

import bpy
from bpy.props import BoolProperty, CollectionProperty, EnumProperty, FloatProperty, StringProperty
from bpy.types import FileHandler, Operator, OperatorFileListElement
from bpy_extras.io_utils import ImportHelper, orientation_helper

from .display_nodes import DEFAULT_DISPLAY, DISPLAY_MODES
from .operator_errors import reports_errors


@orientation_helper(axis_forward="Y", axis_up="Z")
class SPECTRALSPLATS_OT_import_ply(Operator, ImportHelper):
    """Import a 3D Gaussian Splatting file (.ply or .splat) as a point object"""

    bl_idname = "spectralsplats.import_ply"
    bl_label = "Import Gaussian Splat"
    bl_options = {"REGISTER", "UNDO", "PRESET"}

    filename_ext = ".ply"
    filter_glob: StringProperty(default="*.ply;*.splat", options={"HIDDEN"})
    files: CollectionProperty(type=OperatorFileListElement, options={"HIDDEN", "SKIP_SAVE"})
    directory: StringProperty(subtype="DIR_PATH", options={"HIDDEN", "SKIP_SAVE"})

    display: EnumProperty(name="Display", items=DISPLAY_MODES, default=DEFAULT_DISPLAY,
                          description="How the splats are shown in the viewport")
    display_size: FloatProperty(name="Display Size", default=2.0, min=0.0, soft_max=4.0,
                                description="Displayed size, in standard deviations of each splat")
    drop_invalid: BoolProperty(name="Drop Invalid Splats", default=False,
                               description="Drop splats with NaN/Inf values or zero "
                                           "quaternions instead of refusing the file")

    def _paths(self) -> list[str]:
        if self.files and self.directory:
            return [os.path.join(self.directory, f.name) for f in self.files if f.name]
        return [self.filepath]

    @reports_errors
    def execute(self, context):
        from ..engine.errors import SpectralSplatsError
        from .importer import import_splats

        imported = []
        for path in self._paths():
            try:
                result = import_splats(path, context.collection, axis_forward=self.axis_forward,
                                       axis_up=self.axis_up, display=self.display,
                                       display_size=self.display_size,
                                       drop_invalid=self.drop_invalid)
            except (SpectralSplatsError, OSError) as error:
                self.report({"ERROR"}, str(error))
                return {"CANCELLED"}
            imported.append(result)
        if not imported:
            self.report({"ERROR"}, "no file was given: choose a .ply or .splat file")
            return {"CANCELLED"}
        for obj in context.view_layer.objects.selected:
            obj.select_set(False)
        for result in imported:
            result.obj.select_set(True)
            message = (f"Imported {result.count:,} splats into {result.obj.name!r} in "
                       f"{result.seconds:.2f} s")
            if result.dropped:
                message += f" ({result.dropped:,} invalid splats dropped)"
            self.report({"INFO"}, message)
        context.view_layer.objects.active = imported[-1].obj
        return {"FINISHED"}

    def invoke(self, context, event):
        if self.directory and self.files:  # dropped onto the viewport
            return self.invoke_popup(context)
        return ImportHelper.invoke(self, context, event)


class SPECTRALSPLATS_FH_import_ply(FileHandler):
    """Drop a .ply or .splat onto the 3D viewport to import it as Gaussian splats"""

    bl_idname = "SPECTRALSPLATS_FH_import_ply"
    bl_label = "Gaussian Splat"
    bl_import_operator = SPECTRALSPLATS_OT_import_ply.bl_idname
    bl_file_extensions = ".ply;.splat"

    @classmethod
    def poll_drop(cls, context):
        return context.area is not None and context.area.type == "VIEW_3D"


def menu_func_import(self, context):
    self.layout.operator(SPECTRALSPLATS_OT_import_ply.bl_idname,
                         text="Gaussian Splat (.ply, .splat)")


classes = (SPECTRALSPLATS_OT_import_ply, SPECTRALSPLATS_FH_import_ply)

menus = ((bpy.types.TOPBAR_MT_file_import, menu_func_import),)
