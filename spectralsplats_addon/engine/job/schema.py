"""The fields of job.json v1 as the validator knows them, and the JSON Schema file beside it.

``JOB_FIELDS`` is a small tree of field kinds (objects, arrays, numbers, strings, one-of
choices) that ``validate.py`` walks. ``job.schema.json`` (in this package, so the worker
finds it wherever the package is installed) says the same for other tools; a test walks the
two together and fails where they disagree. numpy-free, torch-free.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..vocabulary import DEVICES, LOSSES, MODELS, PRESETS

JOB_VERSION = 1
READABLE_VERSIONS: tuple[int, ...] = (JOB_VERSION,)
SCHEMA_PATH = Path(__file__).with_name("job.schema.json")

MATTE_CHANNELS = ("auto", "alpha", "luminance")
BACKGROUNDS = ("auto", "colour", "clean_plate", "estimate")
APPEARANCES = ("auto", "off", "clip", "frame")
SENSOR_FITS = ("AUTO", "HORIZONTAL", "VERTICAL")


@dataclass(frozen=True)
class Const:
    """An integer that must equal ``value`` (the format version)."""

    value: int


@dataclass(frozen=True)
class Number:
    """A finite JSON number; ``integer`` for whole numbers, ``nullable`` to allow null."""

    integer: bool = False
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    nullable: bool = False


@dataclass(frozen=True)
class Text:
    """A non-empty string, optionally one of ``enum`` or matching the regex ``pattern``."""

    enum: tuple[str, ...] | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class Array:
    items: object
    min_items: int | None = None
    max_items: int | None = None


@dataclass(frozen=True)
class Field:
    kind: object
    required: bool = False


@dataclass(frozen=True)
class Object:
    """A JSON object with the named fields; ``open`` objects take any names (checked, if at
    all, elsewhere) and no others are allowed otherwise."""

    fields: dict = field(default_factory=dict)
    open: bool = False


@dataclass(frozen=True)
class OneOf:
    """An object that is one of several shapes, told apart by which key it holds:
    ``choices`` maps that key to the shape (e.g. "movie" -> a movie source)."""

    choices: dict


def matrix4() -> Array:
    """[4, 4] finite numbers, row-major (row i is matrix[i])."""
    return Array(Array(Number(), 4, 4), 4, 4)


def colour() -> Array:
    return Array(Number(minimum=0.0, maximum=1.0), 3, 3)


CAMERA = Object({
    "matrix_world": Field(matrix4(), required=True),
    "lens": Field(Number(exclusive_minimum=0.0), required=True),
    "sensor_width": Field(Number(exclusive_minimum=0.0), required=True),
    "sensor_height": Field(Number(exclusive_minimum=0.0), required=True),
    "sensor_fit": Field(Text(enum=SENSOR_FITS), required=True),
    "resolution_x": Field(Number(integer=True, minimum=1), required=True),
    "resolution_y": Field(Number(integer=True, minimum=1), required=True),
    "resolution_percentage": Field(Number(integer=True, minimum=1)),
    "pixel_aspect_x": Field(Number(exclusive_minimum=0.0)),
    "pixel_aspect_y": Field(Number(exclusive_minimum=0.0)),
    "shift_x": Field(Number()),
    "shift_y": Field(Number()),
    "clip_start": Field(Number(exclusive_minimum=0.0)),
    "clip_end": Field(Number(exclusive_minimum=0.0)),
})

FRAME_INDEX = Number(integer=True, minimum=0)


def source(extra: dict | None = None) -> OneOf:
    """A movie frame ({"movie": path, "index": i}) or an image file ({"image": path})."""
    extra = extra or {}
    return OneOf({
        "movie": Object({"movie": Field(Text(), required=True),
                         "index": Field(FRAME_INDEX, required=True), **extra}),
        "image": Object({"image": Field(Text(), required=True), **extra}),
    })


FRAME = Object({
    "scene_frame": Field(Number(integer=True), required=True),
    "source": Field(source(), required=True),
    "matte": Field(source({"channel": Field(Text(enum=MATTE_CHANNELS))})),
    "background": Field(colour()),
    "clean_plate": Field(source()),
    "camera": Field(CAMERA),
})

JOB_FIELDS = Object({
    "version": Field(Const(JOB_VERSION), required=True),
    "asset": Field(Object({
        "ply": Field(Text(pattern=r"\.ply$"), required=True),
        "rig": Field(Text(pattern=r"\.npz$"), required=True),
        "matrix_world": Field(matrix4(), required=True),
    }), required=True),
    "camera": Field(CAMERA, required=True),
    "frames": Field(Array(FRAME, min_items=1), required=True),
    "settings": Field(Object({
        "model": Field(Text(enum=MODELS), required=True),
        "loss": Field(Text(enum=LOSSES)),
        "preset": Field(Text(enum=tuple(sorted(PRESETS)))),
        "device": Field(Text(enum=DEVICES)),
        "resolution": Field(Number(integer=True, minimum=16, nullable=True)),
        "config": Field(Object(open=True)),
        "seed": Field(Number(integer=True, minimum=0)),
        "background": Field(Text(enum=BACKGROUNDS)),
        "appearance": Field(Text(enum=APPEARANCES)),
    }), required=True),
    "outputs": Field(Object({
        "result": Field(Text(pattern=r"\.npz$")),
    })),
    "meta": Field(Object(open=True)),
})


def load_schema() -> dict:
    """The JSON Schema of job.json v1 (job.schema.json in this package), as a dict."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
