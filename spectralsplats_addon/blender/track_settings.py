"""The Track panel's settings (a PropertyGroup on the scene) and what they resolve to."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import bpy
from bpy.props import BoolProperty, EnumProperty, IntProperty, PointerProperty, StringProperty
from bpy.types import PropertyGroup

from ..engine.errors import TrackInputError
from ..engine.vocabulary import DEVICE_TEXT, LOSS_TEXT, MODEL_TEXT, PRESET_TEXT
from .point_object import is_splat_object


def enum_items(text: dict[str, tuple[str, str]]) -> tuple[tuple[str, str, str], ...]:
    """EnumProperty items (name, label, description) of one vocabulary, in its order."""
    return tuple((name, label, description) for name, (label, description) in text.items())


MODELS = enum_items(MODEL_TEXT)
LOSSES = enum_items(LOSS_TEXT)
PRESETS = enum_items(PRESET_TEXT)
DEVICES = enum_items(DEVICE_TEXT)
MATTES = (("OWN", "Strip's Alpha", "The strip's own alpha channel, where it has one"),
          ("STRIP", "Matte Strip", "A second movie or image strip, with its own timing: its "
                                   "alpha or its luminance (white = object)"))
MATTE_CHANNELS = (("auto", "Auto", "The matte's alpha where it has one, else its luminance"),
                  ("alpha", "Alpha", "The matte's alpha channel"),
                  ("luminance", "Luminance", "The matte's brightness: white = object"))
BACKGROUNDS = (("auto", "Auto", "The clean plate if one is given; else, for footage with "
                                "neither alpha nor matte, an estimate from the clip where it "
                                "is reliable"),
               ("colour", "None", "The footage as it is (a render over a colour)"),
               ("clean_plate", "Clean Plate", "A strip of the background alone: the render is "
                                              "composited over it"),
               ("estimate", "Estimate from Clip", "The per-pixel median of the clip: a "
                                                  "locked-off camera"))
APPEARANCES = (("auto", "Auto", "Per clip, except for footage with its own alpha"),
               ("off", "Off", "The render's colours as they are"),
               ("clip", "Per Clip", "One gain and offset per colour channel for the clip"),
               ("frame", "Per Frame", "One gain and offset per frame, kept smooth in time"))


def _is_splat(self, obj):
    return is_splat_object(obj)


def _is_camera(self, obj):
    return obj.type == "CAMERA"


class SpectralSplatsTrackSettings(PropertyGroup):
    target: PointerProperty(name="Splats", type=bpy.types.Object, poll=_is_splat,
                            description="The splat object to track (default: the active one)")
    strip: StringProperty(name="Strip", description="The movie or image strip to track against")
    camera: PointerProperty(name="Camera", type=bpy.types.Object, poll=_is_camera,
                            description="The camera that filmed the strip (default: the scene "
                                        "camera)")
    use_strip_range: BoolProperty(name="Strip's Range", default=True,
                                  description="Track every frame the strip shows")
    frame_start: IntProperty(name="Start", default=1)
    frame_end: IntProperty(name="End", default=24)
    model: EnumProperty(name="Model", items=MODELS, default="direct")
    loss: EnumProperty(name="Loss", items=LOSSES, default="spectral")
    preset: EnumProperty(name="Preset", items=PRESETS, default="robust")
    device: EnumProperty(name="Device", items=DEVICES, default="auto")
    iterations: IntProperty(name="Iterations", default=0, min=0, soft_max=2000,
                            description="Optimisation steps per frame (0: the preset's)")
    resolution: IntProperty(name="Resolution", default=512, min=0, soft_max=2048,
                            description="Longest side, in pixels, that footage and renders are "
                                        "resampled to (0: the footage's own size)")
    output_dir: StringProperty(name="Output", subtype="DIR_PATH", default="",
                               description="Folder for the tracking job and its result (default: "
                                           "beside the .blend, or a temporary folder if unsaved)")
    bake: BoolProperty(name="Bake When Done", default=True)
    matte: EnumProperty(name="Matte", items=MATTES, default="OWN",
                        description="What tells the object from its background")
    matte_strip: StringProperty(name="Matte Strip",
                                description="The movie or image strip holding the matte")
    matte_channel: EnumProperty(name="Channel", items=MATTE_CHANNELS, default="auto")
    background: EnumProperty(name="Background", items=BACKGROUNDS, default="auto",
                             description="What the render is composited over")
    clean_plate_strip: StringProperty(name="Clean Plate",
                                      description="The strip of the background alone (a "
                                                  "still image strip for a locked-off camera)")
    appearance: EnumProperty(name="Colour Match", items=APPEARANCES, default="auto",
                             description="A colour transform of the render, optimised with "
                                         "the motion: the plate's exposure and white balance")


@dataclass
class TrackInputs:
    target: object      # bpy.types.Object
    camera: object      # bpy.types.Object
    strip: object       # bpy.types.Strip
    first: int
    last: int
    output_dir: str
    matte_strip: object = None        # bpy.types.Strip or None
    clean_plate_strip: object = None  # bpy.types.Strip or None


def plate_warning(settings) -> str | None:
    """The panel's warning when nothing tells the object from its background (a strip
    without alpha then tracks poorly), else None."""
    if settings.matte == "OWN" and settings.background in ("auto", "colour"):
        return ("No matte and no background: if the strip has no alpha, its background can "
                "pull the tracker away. Give a Matte Strip, a Clean Plate or Estimate from Clip")
    return None


def output_folder(settings) -> str:
    """settings.output_dir, or 'spectralsplats' beside the .blend, or a temporary folder."""
    if settings.output_dir:
        return bpy.path.abspath(settings.output_dir)
    if bpy.data.filepath:
        return bpy.path.abspath("//spectralsplats")
    return os.path.join(tempfile.gettempdir(), "spectralsplats")


def resolve_inputs(context, settings) -> TrackInputs:
    """What the settings name, with the defaults filled in; raises TrackInputError or
    StripError with advice."""
    from .strip_source import StripError, find_strip, strip_range

    scene = context.scene
    target = settings.target or context.active_object
    if not is_splat_object(target):
        raise TrackInputError("no splat object to track: import a .ply (File > Import > "
                              "Gaussian Splat) and select it, or pick it in the Track panel")
    camera = settings.camera or scene.camera
    if camera is None:
        raise TrackInputError("the scene has no camera: add one (Add > Camera), set it as the "
                              "scene camera, or pick one in the Track panel")
    editor = scene.sequence_editor
    strip = find_strip(editor, settings.strip)
    if strip is None:
        raise StripError("no video strip is chosen: add a movie or image strip to the Video "
                         "Sequencer and pick it in the Track panel" if not settings.strip else
                         f"there is no strip named {settings.strip!r} in this scene's sequencer")
    first, last = strip_range(strip) if settings.use_strip_range else \
        (settings.frame_start, settings.frame_end)
    extra = {}
    for field, name, wanted in (("matte_strip", "Matte Strip", settings.matte == "STRIP"),
                                ("clean_plate_strip", "Clean Plate",
                                 settings.background == "clean_plate")):
        if wanted:
            extra[field] = find_strip(editor, getattr(settings, field))
            if extra[field] is None:
                raise StripError(f"{name}: no strip named {getattr(settings, field)!r} in this "
                                 f"scene's sequencer; pick the strip in the Track panel")
    return TrackInputs(target, camera, strip, first, last, output_folder(settings), **extra)


classes = (SpectralSplatsTrackSettings,)


def register_properties() -> None:
    bpy.types.Scene.spectralsplats_track = PointerProperty(type=SpectralSplatsTrackSettings)


def unregister_properties() -> None:
    del bpy.types.Scene.spectralsplats_track
