"""Lock Frame and Refine, as trackers do: keep the frames that fit, re-track between them.

Lock Frame toggles the current frame in the splat object's locked frames (key_blend.py):
a bake never replaces their keys. Refine re-tracks the frames between the locked frames
around the current one (or the strip's ends where there is none); its bake blends into
the keys at both ends, and the run keeps its own job folder and result.
"""

from __future__ import annotations

import bpy
from bpy.types import Operator

from .poll_messages import require_object_mode


def _target(context):
    from .point_object import is_splat_object

    settings = context.scene.spectralsplats_track
    obj = settings.target or context.active_object
    return obj if is_splat_object(obj) else None


def _poll_target(cls, context) -> bool:
    if _target(context) is None:
        cls.poll_message_set("Select a Gaussian splat object, or pick it in the Track panel")
        return False
    return require_object_mode(cls, context)


def refine_range(locked: list[int], current: int, first: int, last: int) -> tuple[int, int]:
    """The frames between the locked frames around ``current`` (first..last where none)."""
    before = [f for f in locked if f < current]
    after = [f for f in locked if f > current]
    return (max(before) + 1 if before else first), (min(after) - 1 if after else last)


class SPECTRALSPLATS_OT_lock_frame(Operator):
    """Lock the current frame's tracked pose (or unlock it): later tracks keep its keys and
    blend into them"""

    bl_idname = "spectralsplats.lock_frame"
    bl_label = "Lock Frame"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return _poll_target(cls, context)

    def execute(self, context):
        from .key_blend import locked_frames, set_locked

        obj, frame = _target(context), context.scene.frame_current
        locked = set_locked(obj, frame, frame not in locked_frames(obj))
        state = "Locked" if frame in locked else "Unlocked"
        shown = ", ".join(map(str, locked)) or "none"
        self.report({"INFO"}, f"{state} frame {frame} of {obj.name!r} (locked frames: {shown})")
        return {"FINISHED"}


class SPECTRALSPLATS_OT_refine(Operator):
    """Track again between the locked frames around the current frame, blending into the keys
    at both ends"""

    bl_idname = "spectralsplats.refine"
    bl_label = "Refine"

    @classmethod
    def poll(cls, context):
        from .track_operator import poll_track

        return _poll_target(cls, context) and poll_track(cls, context)

    def execute(self, context):
        from .key_blend import locked_frames
        from .strip_source import find_strip, strip_range

        scene, settings = context.scene, context.scene.spectralsplats_track
        strip = find_strip(scene.sequence_editor, settings.strip)
        if strip is None:
            self.report({"ERROR"}, "no video strip is chosen: pick the strip to refine against "
                                   "in the Track panel")
            return {"CANCELLED"}
        first, last = strip_range(strip)
        locked = locked_frames(_target(context))
        lo, hi = refine_range(locked, scene.frame_current, first, last)
        if scene.frame_current in locked or lo > hi:
            self.report({"ERROR"}, f"frame {scene.frame_current} is locked: move to a frame "
                                   "between locked frames, or unlock it (Lock Frame)")
            return {"CANCELLED"}
        settings.use_strip_range, settings.frame_start, settings.frame_end = False, lo, hi
        try:
            return bpy.ops.spectralsplats.track()
        except RuntimeError as error:  # Track refused: pass on its reason
            self.report({"ERROR"}, str(error).strip().removeprefix("Error: "))
            return {"CANCELLED"}


classes = (SPECTRALSPLATS_OT_lock_frame, SPECTRALSPLATS_OT_refine)
