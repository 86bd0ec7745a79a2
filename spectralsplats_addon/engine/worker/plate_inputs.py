"""How a job's plate is compared: what the render goes over, and its colour transform.

    choice = choose_plate(job, footage_has_alpha)    # before any footage is tracked
    choice.background                                # "colour" | "clean_plate" | "estimate"
    choice.appearance                                # "off" | "clip" | "frame"
    choice.warning                                   # a sentence for the user, or None

settings.background "auto" takes each frame's clean plate where every frame has one, else the
frames' background colour where there is alpha (a matte, or the footage's own alpha channel),
else the background estimated from the clip (engine/video/background.py) when the job has at
least AUTO_ESTIMATE_FRAMES frames and the estimate is reliable, else the raw plate (colour):
in a short clip the object covers much of its own footprint in most frames, so the median
keeps it, and the tracker is pulled to where the object was (measured on the 3-frame test
clip: 30.5 / 32.3 / 27.7 dB against the estimate, 43.4 / 41.0 / 41.3 dB against the raw
plate over black; scripts/eval_plates.py has the photographs). settings.appearance
"auto" is "off" for footage with its own alpha channel composited over a colour (a render,
exact), else "clip". With neither a matte nor a known background, ``warning`` says what goes
wrong and the two ways to fix it (NOTHING_GIVEN). numpy-free, torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..job.model import Job

AUTO_ESTIMATE_FRAMES = 8  # "auto" estimates the background from at least this many frames

NOTHING_GIVEN = (
    "the footage has no alpha and the job gives neither a matte nor a clean plate: spectral "
    "moments are sums over the whole image, so the background's clutter outweighs the object "
    "and tracking can drift away even from a good start. Give a matte (--matte, or footage "
    "with its own alpha) or a known background (--clean-plate, or --estimate-background for "
    "a locked-off camera).")
ESTIMATED = " Tracking goes on against the background estimated from the clip."
RAW = " Tracking goes on against the raw plate{why}."


@dataclass(frozen=True)
class PlateChoice:
    background: str           # "colour" | "clean_plate" | "estimate"
    appearance: str           # "off" | "clip" | "frame"
    has_alpha: bool           # a matte or the footage's own alpha supervises coverage
    warning: str | None = None

    def to_event(self) -> dict:
        """The fields of the worker's "plate" event (the estimate's adds its own)."""
        return {"background": self.background, "appearance": self.appearance,
                "alpha": self.has_alpha, "warning": self.warning}


def choose_plate(job: Job, footage_has_alpha: bool) -> PlateChoice:
    """The plate settings of ``job`` (module docstring); footage_has_alpha: the first
    footage frame has its own alpha channel."""
    settings = job.settings
    has_matte = any(frame.matte is not None for frame in job.frames)
    has_alpha = has_matte or footage_has_alpha
    plates = all(frame.clean_plate is not None for frame in job.frames)
    background, warning = settings.background, None
    if background == "auto":
        background = "clean_plate" if plates else ("colour" if has_alpha else "estimate")
        if background == "estimate" and len(job.frames) < AUTO_ESTIMATE_FRAMES:
            background = "colour"
            warning = NOTHING_GIVEN + RAW.format(
                why=f" (a clip of {len(job.frames)} frames is too short to estimate its "
                    f"background from; {AUTO_ESTIMATE_FRAMES} or more are needed)")
        elif background == "estimate":
            warning = NOTHING_GIVEN + ESTIMATED
    elif background == "colour" and not has_alpha:
        warning = NOTHING_GIVEN + RAW.format(why=" (settings.background is \"colour\")")
    appearance = settings.appearance
    if appearance == "auto":
        exact = footage_has_alpha and not has_matte and background == "colour"
        appearance = "off" if exact else "clip"
    return PlateChoice(background, appearance, has_alpha, warning)


def fall_back_to_raw(choice: PlateChoice, why: str) -> PlateChoice:
    """An "auto" estimate found unreliable: the raw plate instead, saying why."""
    return PlateChoice("colour", choice.appearance, choice.has_alpha,
                       NOTHING_GIVEN + RAW.format(why=f" ({why})"))


__all__ = ["AUTO_ESTIMATE_FRAMES", "NOTHING_GIVEN", "PlateChoice", "choose_plate",
           "fall_back_to_raw"]
