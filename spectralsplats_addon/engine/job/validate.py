"""Validation of job.json before any work starts: every problem, each with its field path.

    problems = validate_job(data)        # [(field path, message)], [] when the job is good
    job = parse_job(data)                # Job, or JobError listing every problem

A problem reads ``frames[3].source.index: expected a non-negative integer, got -1``. The
walk over ``schema.JOB_FIELDS`` checks presence, types, ranges, enums and unknown names
(which would hide typos); then come the rules a schema cannot say: strictly increasing
scene frames, affine matrices, asset and output paths inside the job folder, a camera that
projects, and tracking overrides that TrackingConfig accepts. A job of another version is
reported alone: its fields are not v1 fields.
"""

from __future__ import annotations

import math
import posixpath
import re
from dataclasses import fields as dataclass_fields
from pathlib import PurePosixPath, PureWindowsPath

from ..config import PRESETS, TrackingConfig
from ..conventions import camera_from_blender
from ..errors import ConfigError, JobError
from .model import Job, JobSettings, camera_from_dict
from .schema import (JOB_FIELDS, READABLE_VERSIONS, Array, Const, Number, Object, OneOf,
                     Text)

Problem = tuple[str, str]  # (field path, what is wrong and what is expected)
MAX_MAGNITUDE = 1e9   # every number of job.json (scene frames, seed, matrices, lens, ...)
MAX_TEXT = 4096       # characters of a path or a name
MIN_RELATIVE_DETERMINANT = 1e-9  # |det M| over max|m_ij|^3 of an object matrix's 3 x 3 part


def validate_job(data) -> list[Problem]:
    """Every problem of job.json data (a parsed JSON value), in document order."""
    unreadable = version_problem(data)
    if unreadable is not None:
        return [unreadable]
    problems: list[Problem] = []
    _walk(data, JOB_FIELDS, "", problems)
    if isinstance(data, dict):
        _check_rules(data, {path for path, _ in problems}, problems)
    return problems


def version_problem(data) -> Problem | None:
    """The problem of a job written in a version this build does not read, else None."""
    version = data.get("version") if isinstance(data, dict) else None
    if not _is_integer(version) or version in READABLE_VERSIONS:
        return None
    readable = ", ".join(str(v) for v in READABLE_VERSIONS)
    return ("version", f"this build reads job version {readable}, got {version}; write the "
                       "job again with this build, or run it with the build that wrote it")


def is_clean(path: str, flagged) -> bool:
    """Whether no problem path in ``flagged`` is ``path`` or lies inside it."""
    return not any(p == path or p.startswith((path + ".", path + "[")) for p in flagged)


def parse_job(data, where=None) -> Job:
    """Validate job.json data and build the Job; JobError (naming ``where``) lists every
    problem."""
    problems = validate_job(data)
    if problems:
        raise JobError(where, problems)
    return Job.from_dict(data)


# -- the walk over the field tree ---------------------------------------------------------

def _walk(value, kind, path: str, problems: list[Problem]) -> None:
    if isinstance(kind, Object):
        _walk_object(value, kind, path, problems)
    elif isinstance(kind, OneOf):
        _walk_one_of(value, kind, path, problems)
    elif isinstance(kind, Array):
        _walk_array(value, kind, path, problems)
    elif not _accepts(value, kind):
        problems.append((path, f"expected {describe(kind)}, got {show(value)}"))
    elif isinstance(kind, Number) and value is not None and abs(value) > MAX_MAGNITUDE:
        problems.append((path, f"expected a number of magnitude at most {MAX_MAGNITUDE:g}, "
                               f"got {show(value)}"))
    elif isinstance(kind, Text) and (len(value) > MAX_TEXT or "\0" in value):
        problems.append((path, f"expected text of at most {MAX_TEXT} characters without NUL "
                               f"bytes, got {len(value)} characters"
                               f"{' with a NUL byte' if chr(0) in value else ''}"))


def _walk_object(value, kind: Object, path: str, problems: list[Problem]) -> None:
    if not isinstance(value, dict):
        problems.append((path or "job.json", f"expected an object, got {show(value)}"))
        return
    if kind.open:
        _check_finite_numbers(value, path, problems)
        return
    for name, spec in kind.fields.items():
        if name in value:
            _walk(value[name], spec.kind, _join(path, name), problems)
        elif spec.required:
            problems.append((_join(path, name), f"missing; expected {describe(spec.kind)}"))
    allowed = ", ".join(kind.fields)
    for name in value:
        if name not in kind.fields:
            problems.append((_join(path, str(name)), f"unknown field; allowed fields here: "
                                                     f"{allowed}"))


def _check_finite_numbers(value, path: str, problems: list[Problem]) -> None:
    """Free-form JSON (meta, config): NaN and Infinity are not JSON; nothing else to check."""
    if isinstance(value, float) and not math.isfinite(value):
        problems.append((path, f"expected a finite number, got {show(value)} (not valid JSON)"))
    elif isinstance(value, dict):
        for name, item in value.items():
            _check_finite_numbers(item, _join(path, str(name)), problems)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_finite_numbers(item, f"{path}[{i}]", problems)


def _walk_one_of(value, kind: OneOf, path: str, problems: list[Problem]) -> None:
    keys = [key for key in kind.choices if isinstance(value, dict) and key in value]
    if len(keys) == 1:
        _walk_object(value, kind.choices[keys[0]], path, problems)
        return
    wanted = " or ".join(f'"{key}"' for key in kind.choices)
    got = f"both {' and '.join(keys)}" if keys else show(value)
    problems.append((path, f"expected an object with exactly one of {wanted}, got {got}"))


def _walk_array(value, kind: Array, path: str, problems: list[Problem]) -> None:
    if not isinstance(value, list):
        problems.append((path, f"expected {describe(kind)}, got {show(value)}"))
        return
    low, high = kind.min_items, kind.max_items
    if (low is not None and len(value) < low) or (high is not None and len(value) > high):
        problems.append((path, f"expected {describe(kind)}, got {show(value)}"))
        return
    for i, item in enumerate(value):
        _walk(item, kind.items, f"{path}[{i}]", problems)


def _accepts(value, kind) -> bool:
    if isinstance(kind, Const):
        return _is_integer(value) and value == kind.value
    if isinstance(kind, Text):
        return (isinstance(value, str) and value != ""
                and (kind.enum is None or value in kind.enum)
                and (kind.pattern is None or re.search(kind.pattern, value) is not None))
    if isinstance(kind, Number):
        if value is None:
            return kind.nullable
        if not _is_number(value) or (kind.integer and not _is_integer(value)):
            return False
        return ((kind.minimum is None or value >= kind.minimum)
                and (kind.maximum is None or value <= kind.maximum)
                and (kind.exclusive_minimum is None or value > kind.exclusive_minimum))
    raise TypeError(f"no check for field kind {kind!r}")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


def _is_integer(value) -> bool:
    return _is_number(value) and float(value).is_integer()


def describe(kind) -> str:
    """What a field kind expects, in words: "a non-negative integer", "one of ...", ..."""
    if isinstance(kind, Const):
        return f"the integer {kind.value}"
    if isinstance(kind, Text):
        if kind.enum is not None:
            return "one of " + ", ".join(f'"{v}"' for v in kind.enum)
        if kind.pattern is not None:
            ending = kind.pattern.removesuffix("$").replace("\\", "")  # r"\.ply$" -> .ply
            return f"a file name ending in {ending}"
        return "a non-empty string"
    if isinstance(kind, Number):
        text = _describe_number(kind)
        return f"{text} or null" if kind.nullable else text
    if isinstance(kind, Array):
        sizes, leaf = [], kind
        while isinstance(leaf, Array):
            sizes.append(leaf.min_items if leaf.min_items == leaf.max_items else None)
            leaf = leaf.items
        noun = re.sub(r"^an? ", "", describe(leaf))
        noun = re.sub(r"\b(number|integer|object|string)\b", r"\1s", noun, count=1)
        if None not in sizes:
            return f"a {' x '.join(str(s) for s in sizes)} array of {noun}" if len(sizes) > 1 \
                else f"an array of {sizes[0]} {noun}"
        if kind.min_items == 1:
            return f"a non-empty array of {noun}"
        least = f"at least {kind.min_items} " if kind.min_items else ""
        return f"an array of {least}{noun}"
    if isinstance(kind, (Object, OneOf)):
        return "an object"
    raise TypeError(f"no description for field kind {kind!r}")


def _describe_number(kind: Number) -> str:
    noun = "integer" if kind.integer else "finite number"
    if kind.minimum == 0 and kind.maximum is None and kind.integer:
        return "a non-negative integer"
    if kind.exclusive_minimum == 0:
        return f"a positive {'integer' if kind.integer else 'number'}"
    if kind.minimum is not None and kind.maximum is not None:
        return f"a number in [{_num(kind.minimum)}, {_num(kind.maximum)}]"
    if kind.minimum is not None:
        return f"an integer of at least {_num(kind.minimum)}" if kind.integer \
            else f"a number of at least {_num(kind.minimum)}"
    return f"an {noun}" if kind.integer else f"a {noun}"


def _num(value) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def show(value) -> str:
    """A JSON value as the message quotes it: -1, NaN, "abc", true, null, an array of 3 items."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return f'"{text}"' if value else 'an empty string ""'
    if isinstance(value, list):
        return f"an array of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        names = ", ".join(str(k) for k in list(value)[:6])
        return f"an object with fields {names}" if value else "an empty object"
    return type(value).__name__


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


# -- rules beyond the field tree ------------------------------------------------------------

def _check_rules(data: dict, flagged: set[str], problems: list[Problem]) -> None:
    """Rules that need several fields or outside knowledge; each runs only on parts the walk
    found well-formed (``flagged`` holds the paths already reported)."""

    def clean(path: str) -> bool:
        return is_clean(path, flagged)

    asset, settings, outputs = data.get("asset"), data.get("settings"), data.get("outputs")
    if clean("asset") and isinstance(asset, dict):
        for name in ("ply", "rig"):
            _check_inner_path(asset[name], f"asset.{name}", problems)
        _check_affine(asset["matrix_world"], "asset.matrix_world", problems)
        _check_invertible(asset["matrix_world"], "asset.matrix_world", problems)
    if clean("outputs") and isinstance(outputs, dict) and "result" in outputs:
        _check_inner_path(outputs["result"], "outputs.result", problems)
        if clean("asset") and isinstance(asset, dict) and clean("outputs.result"):
            _check_result_name(outputs["result"], asset, problems)
    if clean("camera") and "camera" in data:
        _check_camera(data["camera"], "camera", problems)
    frames = data.get("frames")
    if isinstance(frames, list):
        for i, frame in enumerate(frames):
            if clean(f"frames[{i}].camera") and isinstance(frame, dict) and "camera" in frame:
                _check_camera(frame["camera"], f"frames[{i}].camera", problems)
        _check_scene_frames(frames, clean, problems)
        if clean("settings.background") and isinstance(settings, dict):
            _check_plate(settings.get("background", "auto"), frames, problems)
    if clean("settings.config") and isinstance(settings, dict):
        if clean("settings.preset"):
            name = settings.get("preset", JobSettings.preset)
            _check_config(PRESETS[name], settings.get("config", {}), problems)


def _check_plate(background: str, frames: list, problems: list[Problem]) -> None:
    """settings.background "estimate" needs 3 frames; "clean_plate" one for every frame."""
    if background == "estimate" and len(frames) < 3:
        problems.append(("settings.background", "\"estimate\" needs at least 3 frames to take "
                         f"a per-pixel median over, the job has {len(frames)}; give clean "
                         "plates or a matte, or track more frames"))
    if background == "clean_plate":
        lacking = [i for i, frame in enumerate(frames)
                   if isinstance(frame, dict) and "clean_plate" not in frame]
        if lacking:
            problems.append((f"frames[{lacking[0]}].clean_plate", "settings.background is "
                             f"\"clean_plate\" but this frame has none ({len(lacking)} "
                             "frames lack one); give every frame a clean_plate, or set "
                             "settings.background to \"auto\" or \"estimate\""))


def _check_inner_path(text: str, path: str, problems: list[Problem]) -> None:
    posix, windows = PurePosixPath(text), PureWindowsPath(text)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or ".." in windows.parts:
        problems.append((path, f"expected a path relative to the job folder and inside it, "
                               f"got {show(text)}; write the file into the job folder"))


def _check_affine(rows: list, path: str, problems: list[Problem]) -> None:
    if [float(v) for v in rows[3]] != [0.0, 0.0, 0.0, 1.0]:
        problems.append((f"{path}[3]", f"expected [0, 0, 0, 1] (an affine transform), got "
                                       f"{[float(v) for v in rows[3]]}"))


def _check_invertible(rows: list, path: str, problems: list[Problem]) -> None:
    """The 3 x 3 part must be invertible, relative to its size: a zero or flat scale puts
    every splat on a point or a plane, which nothing can be tracked against."""
    m = [[float(v) for v in row[:3]] for row in rows[:3]]
    det = (m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
           - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
           + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]))
    scale = max(abs(v) for row in m for v in row)
    if not math.isfinite(det) or scale == 0.0 or abs(det) <= MIN_RELATIVE_DETERMINANT * scale ** 3:
        problems.append((path, "expected an invertible transform, got a zero or flat scale "
                               f"(determinant {det:.3g}); give the object a non-zero scale on "
                               "every axis"))


def _check_result_name(result: str, asset: dict, problems: list[Problem]) -> None:
    """The result must not replace a file of the job itself."""
    name = posixpath.normpath(result.replace("\\", "/"))
    taken = {posixpath.normpath(str(asset[key]).replace("\\", "/")): f"asset.{key}"
             for key in ("ply", "rig") if isinstance(asset.get(key), str)}
    taken.setdefault("job.json", "job.json")
    if name.lower() in {key.lower() for key in taken}:
        owner = next(v for k, v in taken.items() if k.lower() == name.lower())
        problems.append(("outputs.result", f"{show(result)} is the job's own {owner}; name "
                                           "another file, e.g. \"result.npz\""))


def _check_camera(data: dict, path: str, problems: list[Problem]) -> None:
    _check_affine(data["matrix_world"], f"{path}.matrix_world", problems)
    try:
        camera_from_blender(camera_from_dict(data))
    except ValueError as error:  # CameraError
        problems.append((path, f"not a usable camera: {error}"))


def _check_scene_frames(frames: list, clean, problems: list[Problem]) -> None:
    seen: dict[int, int] = {}  # scene frame -> index of the frame that holds it
    last = None  # (index, scene frame) of the previous well-formed frame
    for i, frame in enumerate(frames):
        path = f"frames[{i}].scene_frame"
        if not (clean(path) and isinstance(frame, dict) and "scene_frame" in frame):
            continue
        number = int(frame["scene_frame"])
        if number in seen:
            problems.append((path, f"duplicate of frames[{seen[number]}].scene_frame = "
                                   f"{number}; list each scene frame once"))
        elif last is not None and number < last[1]:
            problems.append((path, f"expected a scene frame after frames[{last[0]}]"
                                   f".scene_frame = {last[1]}, got {number}; list frames in "
                                   "increasing scene frame order"))
        seen.setdefault(number, i)
        last = (i, number)


def _check_config(base: TrackingConfig, overrides: dict, problems: list[Problem]) -> None:
    known = [f.name for f in dataclass_fields(TrackingConfig)]
    good = {}
    for name, value in overrides.items():
        path = f"settings.config.{name}"
        if name not in known:
            problems.append((path, f"unknown tracking setting; known settings: "
                                   f"{', '.join(known)}"))
            continue
        try:
            base.replace(**{name: value})
        except (ConfigError, TypeError) as error:
            problems.append((path, f"{error}"))
            continue
        good[name] = value
    if len(good) == len(overrides):
        try:
            base.replace(**good)
        except (ConfigError, TypeError) as error:
            problems.append(("settings.config", f"{error}"))
