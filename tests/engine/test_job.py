"""The job folder v1: write_job/load_job round trips, every kind of bad field rejected with
its field path, the validator in step with job.schema.json, and the documented example."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import fields as dataclass_fields
from pathlib import Path

import numpy as np
import pytest

from spectralsplats_addon.engine.config import PRESETS, preset
from spectralsplats_addon.engine.conventions import BlenderCamera, look_at_matrix_world
from spectralsplats_addon.engine.errors import JobError
from spectralsplats_addon.engine.io import read_splats
from spectralsplats_addon.engine.job import (Job, JobAsset, JobFrame, JobMatte, JobOutputs,
                                             JobSettings, JobSource, load_job, load_schema,
                                             parse_job, read_job, validate_job, write_job)
from spectralsplats_addon.engine.job.schema import (JOB_FIELDS, Array, Const, Number, Object,
                                                    OneOf, Text)
from spectralsplats_addon.engine.rig import Rig, build_rig
from spectralsplats_addon.engine.splats import Splats
from spectralsplats_addon.lab.testclips import write_index_movie, write_index_sequence

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT.parent / "shared" / "data" / "real_splats"
MOVIE_FRAMES = 6


def make_splats(n: int, seed: int = 0) -> Splats:
    rng = np.random.default_rng(seed)
    return Splats(means=rng.normal(size=(n, 3)).astype(np.float32),
                  quats=rng.normal(size=(n, 4)).astype(np.float32),
                  log_scales=rng.normal(-3, 0.3, size=(n, 3)).astype(np.float32),
                  opacity_logits=rng.normal(size=n).astype(np.float32),
                  sh=rng.normal(0, 0.3, size=(n, 1, 3)).astype(np.float32))


@pytest.fixture(scope="module")
def footage(tmp_path_factory) -> Path:
    """A folder with a 6-frame movie and two images (plate and matte), shared by the tests."""
    folder = tmp_path_factory.mktemp("footage")
    write_index_movie(folder / "shot.mp4", codec="mpeg4", frames=MOVIE_FRAMES, size=(64, 48))
    write_index_sequence(folder, frames=1, name="plate_%04d.png")
    write_index_sequence(folder, frames=1, name="matte_%04d.png", matte=True)
    write_index_sequence(folder, frames=1, name="small_%04d.png", size=(32, 24), matte=True)
    (folder / "notes.png").write_text("a text file, not an image\n")
    (folder / "bomb.png").write_bytes(png_header(100_000, 100_000))
    return folder


def png_header(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk claiming width x height RGB pixels, and no pixels."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
            + struct.pack(">I", zlib.crc32(chunk)))


def make_job(footage: Path) -> Job:
    """Frames 10, 20, 30 from the movie (relative path, via the footage folder) and 40 from
    an absolute image path with a matte and its own camera."""
    camera = BlenderCamera(matrix_world=look_at_matrix_world((0, -5, 1), (0, 0, 0)).tolist(),
                           lens=35.0, resolution_x=64, resolution_y=48)
    moved = BlenderCamera(matrix_world=look_at_matrix_world((1, -5, 1), (0, 0, 0)).tolist(),
                          resolution_x=64, resolution_y=48, shift_x=0.1)
    movie = str(footage / "shot.mp4")
    frames = [JobFrame(10 * (i + 1), JobSource(movie, i)) for i in range(3)]
    frames.append(JobFrame(40, JobSource(str(footage / "plate_0001.png")),
                           matte=JobMatte(JobSource(str(footage / "matte_0001.png")),
                                          "luminance"),
                           background=(0.25, 0.5, 1.0), camera=moved))
    placed = np.eye(4)
    placed[:3, 3] = (0.5, -0.25, 1.0)
    return Job(asset=JobAsset(matrix_world=placed), camera=camera, frames=frames,
               settings=JobSettings(model="rigid", preset="fast", resolution=None,
                                    config={"iterations": 40, "dssim_weight": 0.1}, seed=3),
               outputs=JobOutputs("out/result.npz"),
               meta={"object": "donut", "note": "[1,2] and [3,\n 4] stay as written"})


@pytest.fixture
def written(tmp_path, footage):
    """A valid job folder: 40 splats, a rig of 5 control points, the job above."""
    splats = make_splats(40)
    rig = build_rig(splats.means, num_control_points=5)
    job = make_job(footage)
    write_job(tmp_path / "job", job, splats, rig)
    return tmp_path / "job", job, splats, rig


def edit_job(folder: Path, change) -> None:
    path = folder / "job.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))  # allow_nan: NaN is written as the token NaN


def problems_of(folder: Path) -> dict[str, str]:
    with pytest.raises(JobError) as caught:
        load_job(folder)
    return dict(caught.value.problems)


# -- round trip -------------------------------------------------------------------------------

def test_a_written_job_loads_back_equal_with_the_same_splats_and_rig(written):
    folder, job, splats, rig = written
    loaded = load_job(folder)
    assert loaded.job == job
    assert read_job(folder) == job
    for name in ("means", "quats", "log_scales", "opacity_logits", "sh"):
        np.testing.assert_array_equal(getattr(loaded.splats, name), getattr(splats, name))
    for name in ("control_points", "indices", "weights"):
        np.testing.assert_array_equal(getattr(loaded.rig, name), getattr(rig, name))
    assert loaded.rig.radius == rig.radius
    assert loaded.footage_lengths == {str(job.frames[0].source.path): MOVIE_FRAMES}
    assert loaded.result_path == folder / "out" / "result.npz"
    assert sorted(p.name for p in folder.iterdir()) == ["asset.ply", "job.json", "out",
                                                        "rig.npz"]
    text = (folder / "job.json").read_text()
    assert json.loads(text) == job.to_dict()
    assert '"matrix_world": [\n      [1.0, 0.0, 0.0, 0.5],\n' in text  # a row a line
    assert loaded.job.camera_for(job.frames[3]).shift_x == 0.1
    assert loaded.job.camera_for(job.frames[0]).lens == 35.0


def test_the_real_degree_3_asset_with_normals_round_trips(tmp_path, footage):
    splats = read_splats(REAL / "lod3.ply")
    rig = build_rig(splats.means, num_control_points=64)
    write_job(tmp_path, make_job(footage), splats, rig)
    loaded = load_job(tmp_path)
    assert len(loaded.splats) == 1971 and loaded.splats.sh_degree == 3
    np.testing.assert_array_equal(loaded.splats.sh, splats.sh)
    np.testing.assert_array_equal(loaded.splats.normals, splats.normals)
    np.testing.assert_array_equal(loaded.rig.indices, rig.indices)


def test_a_minimal_job_takes_the_documented_defaults(footage):
    data = make_job(footage).to_dict()
    data["settings"] = {"model": "direct"}
    for name in ("outputs", "meta"):
        del data[name]
    data["camera"] = {k: data["camera"][k] for k in ("matrix_world", "lens", "sensor_width",
                                                     "sensor_height", "sensor_fit",
                                                     "resolution_x", "resolution_y")}
    data["frames"] = [{"scene_frame": 1, "source": {"movie": "shot.mp4", "index": 0}}]
    job = parse_job(data)
    assert job.settings == JobSettings(model="direct", loss="spectral", preset="robust",
                                       device="auto", resolution=512, config={}, seed=0)
    assert job.outputs.result == "result.npz" and job.meta == {}
    assert job.frames[0].background == (0.0, 0.0, 0.0) and job.frames[0].matte is None
    assert job.camera.clip_start == 0.1 and job.camera.resolution_percentage == 100


def test_tracking_config_merges_the_overrides_over_the_preset():
    settings = JobSettings(model="rigid", preset="fast", config={"iterations": 20})
    assert settings.tracking_config() == preset("fast").replace(iterations=20)
    assert settings.tracking_config().warmup_fraction == PRESETS["fast"].warmup_fraction


def test_writing_an_invalid_job_writes_nothing(tmp_path, footage):
    splats = make_splats(40)
    rig = build_rig(make_splats(30).means, num_control_points=5)  # made for another asset
    bad = make_job(footage)
    bad = Job(bad.asset, bad.camera, bad.frames, JobSettings(model="affine"))
    with pytest.raises(JobError) as caught:
        write_job(tmp_path / "job", bad, splats, rig)
    assert set(dict(caught.value.problems)) == {"settings.model", "asset.rig"}
    assert not (tmp_path / "job").exists()


def test_importing_the_job_package_loads_neither_torch_nor_bpy():
    code = ("import sys, spectralsplats_addon.engine.job; "
            "print(sorted({'torch', 'bpy', 'av', 'PIL'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# -- every kind of wrong field, named by its path ------------------------------------------------

def _both(first, second):
    """Two changes to job.json data, one after the other."""
    def change(data):
        first(data)
        second(data)
    return change


def _set(path: str, value):
    """A change to job.json data: set the field at a dotted/indexed path."""
    keys = [int(k) if k.isdigit() else k for k in re.findall(r"[^.\[\]]+", path)]

    def change(data):
        target = data
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return change


def _rename(path: str, name: str):
    """A change that points the file at ``path`` to ``name`` in the same folder."""
    keys = [int(k) if k.isdigit() else k for k in re.findall(r"[^.\[\]]+", path)]

    def change(data):
        target = data
        for key in keys[:-1]:
            target = target[key]
        old = Path(target[keys[-1]])
        target[keys[-1]] = str(old.parent if name == ".." else old.with_name(name))
    return change


def _delete(path: str):
    keys = [int(k) if k.isdigit() else k for k in re.findall(r"[^.\[\]]+", path)]

    def change(data):
        target = data
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]
    return change


NAN = float("nan")
FIELD_CASES = {
    "missing required field": (_delete("camera.lens"), "camera.lens",
                               "missing; expected a positive number"),
    "missing section": (_delete("settings"), "settings", "missing; expected an object"),
    "wrong type": (_set("settings.seed", "zero"), "settings.seed",
                   'expected a non-negative integer, got "zero"'),
    "boolean for a number": (_set("camera.resolution_x", True), "camera.resolution_x",
                             "expected an integer of at least 1, got true"),
    "out of range": (_set("frames[0].background[1]", 1.5), "frames[0].background[1]",
                     "expected a number in [0, 1], got 1.5"),
    "resolution too small": (_set("settings.resolution", 8), "settings.resolution",
                             "expected an integer of at least 16 or null, got 8"),
    "unknown field": (_set("frames[1].sorce", {}), "frames[1].sorce",
                      "unknown field; allowed fields here: scene_frame, source, matte, "
                      "background, clean_plate, camera"),
    "bad background mode": (_set("settings.background", "median"), "settings.background",
                            'expected one of "auto", "colour", "clean_plate", "estimate", '
                            'got "median"'),
    "bad appearance mode": (_set("settings.appearance", "gain"), "settings.appearance",
                            'expected one of "auto", "off", "clip", "frame", got "gain"'),
    "estimate from too few frames": (_both(_set("settings.background", "estimate"),
                                           lambda data: data["frames"].__delitem__(slice(2))),
                                     "settings.background", '"estimate" needs at least 3 '
                                     "frames"),
    "clean plate missing": (_set("settings.background", "clean_plate"),
                            "frames[0].clean_plate", 'settings.background is "clean_plate" '
                            "but this frame has none"),
    "unknown top-level field": (_set("output", {}), "output",
                                "unknown field; allowed fields here: version, asset, camera, "
                                "frames, settings, outputs, meta"),
    "bad enum": (_set("settings.model", "affine"), "settings.model",
                 'expected one of "rigid", "direct", "mlp", got "affine"'),
    "bad matte channel": (_set("frames[3].matte.channel", "red"), "frames[3].matte.channel",
                          'expected one of "auto", "alpha", "luminance", got "red"'),
    "negative frame index": (_set("frames[2].source.index", -1), "frames[2].source.index",
                             "expected a non-negative integer, got -1"),
    "fractional frame index": (_set("frames[2].source.index", 1.5), "frames[2].source.index",
                               "expected a non-negative integer, got 1.5"),
    "frame index beyond the movie": (
        _set("frames[2].source.index", MOVIE_FRAMES), "frames[2].source.index",
        f"frame {MOVIE_FRAMES} is beyond the end of the movie: shot.mp4 has {MOVIE_FRAMES} "
        f"frames, indices 0 to {MOVIE_FRAMES - 1}"),
    "missing image": (_set("frames[3].source.image", "missing.png"), "frames[3].source.image",
                      "file not found: "),
    "missing matte": (_set("frames[3].matte.image", "gone/matte.png"), "frames[3].matte.image",
                      "file not found: "),
    "a text file as an image": (_rename("frames[3].source.image", "notes.png"),
                                "frames[3].source.image", "cannot be read: "),
    "an image of another size": (
        _rename("frames[3].source.image", "small_0001.png"), "frames[3].source",
        "small_0001.png is 32 x 24 but frames[0].source is 64 x 48; every frame of a job must "
        "be the same size"),
    "a matte of another size": (_rename("frames[3].matte.image", "small_0001.png"),
                                "frames[3].matte", "the matte small_0001.png is 32 x 24 but "
                                                   "its footage is 64 x 48"),
    "a matte without alpha read for its alpha": (
        _set("frames[3].matte.channel", "alpha"), "frames[3].matte.channel",
        '"alpha" but matte_0001.png has no alpha channel; use "luminance"'),
    "an image header claiming 10^10 pixels": (
        _rename("frames[3].source.image", "bomb.png"), "frames[3].source.image",
        "cannot be read: "),
    "a folder as a movie": (_rename("frames[0].source.movie", ".."), "frames[0].source.movie",
                            "is a folder, not a file: "),
    "missing movie": (
        _set("frames[0].source.movie", "missing.mp4"), "frames[0].source.movie",
        "file not found: "),
    "movie and image both": (_set("frames[1].source.image", "x.png"), "frames[1].source",
                             'expected an object with exactly one of "movie" or "image", got '
                             "both movie and image"),
    "movie without its index": (_delete("frames[1].source.index"), "frames[1].source.index",
                                "missing; expected a non-negative integer"),
    "non-increasing scene frames": (
        _set("frames[2].scene_frame", 15), "frames[2].scene_frame",
        "expected a scene frame after frames[1].scene_frame = 20, got 15; list frames in "
        "increasing scene frame order"),
    "duplicate scene frames": (_set("frames[2].scene_frame", 20), "frames[2].scene_frame",
                               "duplicate of frames[1].scene_frame = 20; list each scene frame "
                               "once"),
    "no frames": (_set("frames", []), "frames",
                  "expected a non-empty array of objects, got an array of 0 items"),
    "matrix with 3 rows": (_delete("camera.matrix_world[3]"), "camera.matrix_world",
                           "expected a 4 x 4 array of finite numbers, got an array of 3 items"),
    "matrix row of 3": (_delete("asset.matrix_world[1][3]"), "asset.matrix_world[1]",
                        "expected an array of 4 finite numbers, got an array of 3 items"),
    "matrix not finite": (_set("asset.matrix_world[0][3]", float("inf")),
                          "asset.matrix_world[0][3]", "expected a finite number, got Infinity"),
    "matrix not affine": (_set("asset.matrix_world[3][0]", 0.5), "asset.matrix_world[3]",
                          "expected [0, 0, 0, 1] (an affine transform), got [0.5, 0.0, 0.0, "
                          "1.0]"),
    "camera matrix of zero scale": (_set("camera.matrix_world[0]", [0.0, 0.0, 0.0, 0.0]),
                                    "camera", "not a usable camera: camera matrix_world has a "
                                              "zero scale"),
    "NaN in a number": (_set("camera.lens", NAN), "camera.lens",
                        "expected a positive number, got NaN"),
    "NaN in a frame's camera": (_set("frames[3].camera.shift_x", NAN),
                                "frames[3].camera.shift_x", "expected a finite number, got NaN"),
    "NaN in meta": (_set("meta.score", NAN), "meta.score",
                    "expected a finite number, got NaN (not valid JSON)"),
    "asset path outside the folder": (
        _set("asset.ply", "../donut.ply"), "asset.ply",
        'expected a path relative to the job folder and inside it, got "../donut.ply"'),
    "absolute result path": (_set("outputs.result", "/tmp/result.npz"), "outputs.result",
                             "expected a path relative to the job folder and inside it"),
    "rig not an npz": (_set("asset.rig", "rig.json"), "asset.rig",
                       'expected a file name ending in .npz, got "rig.json"'),
    "unknown tracking setting": (_set("settings.config.iteratons", 5),
                                 "settings.config.iteratons",
                                 "unknown tracking setting; known settings: iterations, "),
    "bad tracking setting": (_set("settings.config.iterations", 0),
                             "settings.config.iterations",
                             "iterations must be a positive integer, got 0"),
    "tracking setting at odds with the preset": (
        _set("settings.config.warmup_fraction", 0.9), "settings.config.warmup_fraction",
        "warmup_fraction (0.9) exceeds spectral_fraction (0.6)"),
    "tracking settings at odds with each other": (
        _set("settings.config", {"warmup_fraction": 0.5, "spectral_fraction": 0.4}),
        "settings.config", "warmup_fraction (0.5) exceeds spectral_fraction (0.4)"),
    "result named as the rig": (_set("outputs.result", "./rig.npz"), "outputs.result",
                                '"./rig.npz" is the job\'s own asset.rig; name another file'),
    "zero object matrix": (_set("asset.matrix_world", [[0.0] * 4] * 3 + [[0, 0, 0, 1]]),
                           "asset.matrix_world", "expected an invertible transform, got a "
                                                 "zero or flat scale"),
    "flat object matrix": (_set("asset.matrix_world[2]", [0.0, 0.0, 1e-12, 0.0]),
                           "asset.matrix_world", "expected an invertible transform"),
    "clip_start after clip_end": (_set("camera.clip_start", 2000.0), "camera",
                                  "not a usable camera: clip_start (2000) must be less than "
                                  "clip_end (1000)"),
    "vanishing lens": (_set("camera.lens", 1e-320), "camera",
                       "not a usable camera: the focal length is "),
    "scene frame past int64": (_set("frames[0].scene_frame", 2 ** 63), "frames[0].scene_frame",
                               "expected a number of magnitude at most 1e+09, got "
                               "9223372036854775808"),
    "a huge lens": (_set("camera.lens", 1e300), "camera.lens",
                    "expected a number of magnitude at most 1e+09, got 1e+300"),
    "seed past 64 bits": (_set("settings.seed", 2 ** 70), "settings.seed",
                          "expected a number of magnitude at most 1e+09"),
    "a 5,000-character path": (_set("frames[3].source.image", "x" * 5000),
                               "frames[3].source.image",
                               "expected text of at most 4096 characters without NUL bytes, "
                               "got 5000 characters"),
    "a NUL byte in a path": (_set("frames[3].source.image", "plate\x00.png"),
                             "frames[3].source.image", "expected text of at most 4096 "
                                                       "characters without NUL bytes, got 10 "
                                                       "characters with a NUL byte"),
    "32 bands": (_set("settings.config.num_bands", 32), "settings.config.num_bands",
                 "num_bands must be at most 16"),
    "a learning rate of 1e30": (_set("settings.config.lr_translation", 1e30),
                                "settings.config.lr_translation",
                                "learning rate lr_translation must be above 0 and at most 10"),
    "unknown preset": (_set("settings.preset", "best"), "settings.preset",
                       'expected one of "fast", "robust", got "best"'),
}


@pytest.mark.parametrize("case", list(FIELD_CASES))
def test_a_wrong_field_is_rejected_with_its_path(written, case):
    folder = written[0]
    change, path, message = FIELD_CASES[case]
    edit_job(folder, change)
    problems = problems_of(folder)
    assert path in problems, problems
    assert problems[path].startswith(message), problems[path]
    assert len(problems) == 1, problems


def test_a_missing_movie_is_reported_once_for_all_the_frames_that_use_it(written):
    folder = written[0]

    def move(data):
        for frame in data["frames"][:3]:
            frame["source"]["movie"] = "plates/missing.mp4"
    edit_job(folder, move)
    problems = problems_of(folder)
    assert list(problems) == ["frames[0].source.movie"]
    assert problems["frames[0].source.movie"] == (
        f"file not found: {folder / 'plates' / 'missing.mp4'} (3 frames use it); check the "
        "path (relative paths are relative to the job folder)")


def test_another_version_is_reported_alone_with_the_versions_this_build_reads(written):
    folder = written[0]
    edit_job(folder, lambda data: (data.update(version=2), data["settings"].update(x=1)))
    assert problems_of(folder) == {"version": "this build reads job version 1, got 2; write "
                                              "the job again with this build, or run it with "
                                              "the build that wrote it"}


def test_a_rig_for_another_asset_is_rejected(written):
    folder = written[0]
    build_rig(make_splats(30).means, num_control_points=5).save(folder / "rig.npz")
    assert problems_of(folder) == {"asset.rig": "the rig binds 30 splats but the asset holds "
                                                "40: it was made for another asset; rig this "
                                                "asset again"}


def test_a_rig_index_out_of_range_is_rejected(written):
    folder, _, _, rig = written
    indices = rig.indices.copy()
    indices[7, 2] = 9
    indices[11, 0] = -1
    Rig(rig.control_points, indices, rig.weights, rig.radius).save(folder / "rig.npz")
    assert problems_of(folder) == {"asset.rig": "indices must lie in 0 to 4 (the rig has 5 "
                                                "control points), 2 do not, first 9 at splat 7; "
                                                "rig this asset again"}


def test_rig_weights_that_do_not_sum_to_one_are_rejected(written):
    folder, _, _, rig = written
    Rig(rig.control_points, rig.indices, rig.weights * 0.5, rig.radius).save(folder / "rig.npz")
    assert problems_of(folder)["asset.rig"].startswith(
        "weights must be finite, non-negative, and sum to 1 for each splat")


def test_missing_or_unreadable_files_are_named(written, tmp_path):
    folder = written[0]
    (folder / "asset.ply").write_text("not a ply")
    (folder / "rig.npz").unlink()
    problems = problems_of(folder)
    assert set(problems) == {"asset.ply", "asset.rig"}
    assert problems["asset.ply"].startswith("not a readable splat file: ")
    assert problems["asset.rig"] == (f"file not found: {folder / 'rig.npz'}; rig the asset "
                                     "and write the job again")
    (folder / "job.json").write_text('{"version": 1,')
    assert problems_of(folder) == {"job.json": "not valid JSON (line 1 column 15: Expecting "
                                               "property name enclosed in double quotes); "
                                               "write the job again or fix the file"}
    assert list(problems_of(tmp_path / "nowhere")) == ["job.json"]
    (folder / "job.json").write_text("[1, 2]")
    assert problems_of(folder) == {"job.json": "expected an object, got an array of 2 items"}
    (folder / "job.json").write_text('{"asset": 3}')
    assert set(problems_of(folder)) == {"version", "asset", "camera", "frames", "settings"}


def test_several_problems_are_all_listed_one_line_each_starting_with_the_path(written):
    folder, _, _, rig = written

    def break_it(data):
        data["frames"][0]["source"]["index"] = -1
        data["frames"][1]["source"]["index"] = MOVIE_FRAMES + 3
        data["frames"][3]["source"]["image"] = "missing.png"
        data["settings"]["modle"] = "rigid"
        data["camera"]["lens"] = NAN
    edit_job(folder, break_it)
    Rig(rig.control_points[:2], rig.indices, rig.weights, rig.radius).save(folder / "rig.npz")
    with pytest.raises(JobError) as caught:
        load_job(folder)
    paths = ["camera.lens", "frames[0].source.index", "settings.modle", "asset.rig",
             "frames[3].source.image", "frames[1].source.index"]
    assert [path for path, _ in caught.value.problems] == paths
    lines = str(caught.value).splitlines()
    assert lines[0] == f"{folder}: the job has 6 problems; fix them and write the job again:"
    assert [line.split(": ", 1)[0] for line in lines[1:]] == paths


# -- the validator and the JSON Schema say the same ---------------------------------------------

def _resolve(node: dict, schema: dict) -> dict:
    """Follow a "$ref" (local, "#/$defs/name"), keeping the referring node's other keys."""
    while "$ref" in node:
        target = schema
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**{k: v for k, v in node.items() if k != "$ref"}, **target}
    return node


def _compare(kind, node: dict, schema: dict, path: str, seen: list[str]) -> None:
    """Assert that the schema node says what the field kind says; records each path."""
    node = _resolve(node, schema)
    seen.append(path)
    if isinstance(kind, OneOf):
        alternatives = [_resolve(alt, schema) for alt in node["oneOf"]]
        assert len(alternatives) == len(kind.choices), path
        for key, choice in kind.choices.items():
            matching = [alt for alt in alternatives if key in alt["required"]]
            assert len(matching) == 1, f"{path}: no single schema alternative requires {key}"
            _compare(choice, matching[0], schema, path, seen)
        return
    if isinstance(kind, Object):
        assert node["type"] == "object", path
        if kind.open:
            assert node.get("additionalProperties", True) is True and "properties" not in node
            return
        assert node["additionalProperties"] is False, path
        assert set(node["properties"]) == set(kind.fields), path
        required = {name for name, f in kind.fields.items() if f.required}
        assert set(node.get("required", [])) == required, path
        for name, f in kind.fields.items():
            _compare(f.kind, node["properties"][name], schema, f"{path}.{name}", seen)
        return
    if isinstance(kind, Array):
        assert node["type"] == "array", path
        assert node.get("minItems") == kind.min_items, path
        assert node.get("maxItems") == kind.max_items, path
        _compare(kind.items, node["items"], schema, f"{path}[]", seen)
        return
    if isinstance(kind, Const):
        assert (node["type"], node["const"]) == ("integer", kind.value), path
        return
    if isinstance(kind, Text):
        assert (node["type"], node["minLength"]) == ("string", 1), path
        assert node.get("enum") == (None if kind.enum is None else list(kind.enum)), path
        assert node.get("pattern") == kind.pattern, path
        return
    assert isinstance(kind, Number), path
    base = "integer" if kind.integer else "number"
    assert node["type"] == ([base, "null"] if kind.nullable else base), path
    for key, value in (("minimum", kind.minimum), ("maximum", kind.maximum),
                       ("exclusiveMinimum", kind.exclusive_minimum)):
        assert node.get(key) == value, f"{path}: {key}"


def test_every_field_the_validator_knows_is_in_the_schema_with_the_same_type_and_required():
    seen: list[str] = []
    _compare(JOB_FIELDS, load_schema(), load_schema(), "job", seen)
    assert {"job.frames[].source.index", "job.frames[].matte.channel", "job.settings.config",
            "job.frames[].camera.matrix_world[][]", "job.outputs.result", "job.meta"} <= set(seen)


def test_the_schema_camera_is_blender_camera_and_presets_are_the_engines():
    schema = load_schema()
    assert set(schema["$defs"]["camera"]["properties"]) == \
        {f.name for f in dataclass_fields(BlenderCamera)}
    assert schema["properties"]["settings"]["properties"]["preset"]["enum"] == sorted(PRESETS)


def test_the_walk_notices_a_schema_that_disagrees():
    schema = load_schema()
    schema["$defs"]["frame_index"]["minimum"] = 1
    with pytest.raises(AssertionError, match=r"job.frames\[\].source.index: minimum"):
        _compare(JOB_FIELDS, schema, schema, "job", [])
    schema = load_schema()
    schema["$defs"]["frame"]["required"].append("background")
    with pytest.raises(AssertionError, match=r"job.frames\[\]"):
        _compare(JOB_FIELDS, schema, schema, "job", [])


def test_the_documented_example_is_a_valid_job():
    text = (ROOT / "docs" / "job-format.md").read_text()
    blocks = re.findall(r"```json\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1
    data = json.loads(blocks[0])
    assert validate_job(data) == []
    job = parse_job(data)
    assert job.frames[0].matte.channel == "luminance"
    assert job.frames[2].source == JobSource("/shots/042/pickup_0003.png")
    assert job.camera_for(job.frames[2]).lens == 35.0
    assert Job.from_dict(job.to_dict()) == job


def test_a_job_json_nested_100000_deep_is_one_problem(written):
    folder = written[0]
    (folder / "job.json").write_text("[" * 100_000 + "]" * 100_000)
    assert problems_of(folder) == {"job.json": "nested too deeply to be a job; write the job "
                                               "again"}


@pytest.mark.parametrize("content, message", [
    (b"", "not a readable rig file (BadZipFile"),
    (b"PK\x03\x04 broken", "not a readable rig file (BadZipFile"),
    ("text", "control_points must be real numbers, got <U"),
    ("radius", "not a readable rig file (TypeError"),
])
def test_a_damaged_rig_is_a_problem_at_asset_rig(written, content, message):
    folder = written[0]
    rig = folder / "rig.npz"
    if content == "text":
        np.savez(rig, control_points=np.array([["a", "b", "c"]]), indices=np.zeros((40, 1), int),
                 weights=np.ones((40, 1)), radius=1.0)
    elif content == "radius":
        np.savez(rig, control_points=np.zeros((1, 3)), indices=np.zeros((40, 1), int),
                 weights=np.ones((40, 1)), radius=np.zeros(3))
    else:
        rig.write_bytes(content)
    problems = problems_of(folder)
    assert list(problems) == ["asset.rig"] and problems["asset.rig"].startswith(message), \
        problems


def test_a_job_folder_with_a_5000_character_name_is_one_problem(tmp_path):
    with pytest.raises(JobError) as caught:
        load_job(tmp_path / ("j" * 5000))
    assert caught.value.problems == [("job.json", "cannot be read (File name too long); check "
                                                  "the job folder's name and permissions")]
