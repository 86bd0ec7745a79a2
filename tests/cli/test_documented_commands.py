"""Every command README.md and docs/*.md show a user is run here as written, in a folder of
small inputs (a 300-splat asset, 32 x 18 footage, the camera.json of docs/command-line.md),
or is listed in NOT_RUN with the reason and the equivalent that is run. A documented command
that is in neither list fails the first test, and so does a listed one the docs dropped.

How a command is run: ``spectralsplats`` is the console script of ``python -m
spectralsplats_addon`` (pyproject.toml, checked below); ``python``, ``.venv/bin/python`` and
``/path/to/checkout/.venv/bin/python`` are the interpreter running these tests, with this
checkout first on PYTHONPATH. Placeholders (JOB_DIR, DIR) name folders made here. The
tracking commands document 48-frame clips: they run as written until their first frame is
tracked, then get Ctrl-C (exit 4 and a partial result, as docs/command-line.md says); the
render commands then render those partial results.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch

from spectralsplats_addon.engine.conventions import BlenderCamera, camera_from_blender
from spectralsplats_addon.engine.io import write_ply
from spectralsplats_addon.engine.render.api import render
from spectralsplats_addon.engine.result import TrackResult
from spectralsplats_addon.engine.video import scale_camera
from spectralsplats_addon.lab.shift_experiment import make_marker_asset

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = ("spectralsplats", "python", ".venv/bin/python", "/path/to/checkout/.venv/bin/python",
            "make", "blender", "pip")
SHELL_FENCES = ("", "bash", "sh", "shell", "console")
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```", re.S | re.M)
FOOTAGE = (32, 18)  # the documented camera is 1920 x 1080
HEADLESS = ".venv/bin/python scripts/headless_track.py --blend scene.blend --ply donut.ply " \
           "--video plate.mp4 --control-points 64"
TRACK_DONUT = "spectralsplats track --asset donut.ply --video plate.mp4 --camera camera.json " \
              "--frames 1-48"
TRACK_PROP = "spectralsplats track --asset prop.ply --video plates/prop_####.png --frames " \
             "1001-1048 --first-index 1 --background 0.18,0.18,0.18 --camera camera.json " \
             "--model rigid --preset fast --out shots/prop"
TRACK_PLATE = "spectralsplats track --asset prop.ply --video plates/prop_####.png --clean-plate " \
              "plates/clean.png --frames 1-48 --appearance frame --camera camera.json --out " \
              "shots/prop_plate"
PREVIEW = "spectralsplats preview --asset prop.ply --video plates/prop_####.png --clean-plate " \
          "plates/clean.png --camera camera.json --frame 12 --out shots/prop_plate"
PLATES = "python scripts/eval_plates.py --out out/plates {}--conditions {} --directions 1"
WORKER = "python -m spectralsplats_addon.engine.worker JOB_DIR"
WORKER_PREVIEW = "python -m spectralsplats_addon.engine.worker.preview JOB_DIR SCENE_FRAME OUT.png"
EVAL = "spectralsplats eval --assets {} --radii 0 0.5 1 1.5 --directions 2 --frames 8 --size 64 " \
       "--fill 0.2 --control-points 48 {}--models direct mlp --losses spectral pixel --preset " \
       "fast --iterations 40 --set lr_control_points=0.02 lr_mlp=0.003 --seed 0 --out " \
       "out/shift_sequence/{}"
CLIP_TIMING = """PYTHONPATH=tests/engine .venv/bin/python -c '
import time
from test_track import Clip, track, CONFIG
clip = Clip(); track(clip, "direct", CONFIG)
for m in ("rigid", "direct", "mlp"):
    t = time.perf_counter(); r = track(clip, m, CONFIG)
    print(m, r.psnr, (time.perf_counter() - t) / 2, "s/frame")'"""

# Each run command: the test that runs it.
RUN = {
    "spectralsplats --help": "test_the_help_and_the_bare_command",
    "python -m spectralsplats_addon": "test_the_help_and_the_bare_command",
    f"{TRACK_DONUT} --out shot": "test_track_and_render",
    f"{TRACK_DONUT} --model direct --preset fast --out shots/donut": "test_track_and_render",
    TRACK_PROP: "test_track_and_render",
    TRACK_PLATE: "test_track_and_render",
    PREVIEW: "test_track_and_render",
    "spectralsplats render --job shots/donut --out shots/donut/preview.mp4":
        "test_track_and_render",
    "spectralsplats render --job shots/prop --out shots/prop/frames/ --no-side-by-side":
        "test_track_and_render",
    WORKER: "test_the_worker",
    f"{WORKER} [--resume | --no-resume]": "test_the_worker",
    WORKER_PREVIEW: "test_the_worker",
    "/path/to/checkout/.venv/bin/python -m spectralsplats_addon.engine.environment":
        "test_the_environment_check",
    ".venv/bin/python -m spectralsplats_addon example --asset articulated --frames 24 --size "
    "128 --out out/body": "test_the_examples",
    ".venv/bin/python -m spectralsplats_addon example --asset donut --out out/donut --format "
    "mp4": "test_the_examples",
    "python scripts/build_extension.py --output-dir DIR": "test_the_extension_build",
    CLIP_TIMING: "test_the_model_timing_snippet",
    HEADLESS + " --out tracked.blend": "test_headless_tracking_with_the_bpy_module",
    HEADLESS + " --preset fast --out tracked.blend": "test_headless_tracking_with_the_bpy_module",
    "spectralsplats batch shots/ --local-cpus 3":
        "tests/farm/test_ray_batch.py::test_three_shots_at_once_one_killed_and_retried_one_invalid",
    "spectralsplats batch shots/sh010 list.txt":
        "tests/farm/test_shots.py::test_bad_shot_paths_exit_2_before_anything_runs",
}

SLOW = "runs for minutes (a benchmark or an experiment) and rewrites its page of docs/"
SUITE = "part of the test suite itself"
NO_BLENDER = "needs the blender executable, which the test machine lacks (only the bpy module)"
HEADLESS_RUN = f"`{HEADLESS} --out tracked.blend` (the same script with the bpy module)"
HELP = "--help, with every option the command uses listed there"
BPY_VENVS = "installs a bpy module per Blender release into .venv-bpy/<version> from the " \
            "package index (about 1 GB each)"
BLENDER_VERSIONS = "tests/blender_versions in this suite, for each release whose venv exists"
# command -> (why it is not run as written, the equivalent that is run)
NOT_RUN = {
    "make demo": ("the demo job: over 2 minutes after setting up .venv", "scripts/demo.py's "
                  "steps: tests/blender (import, rig, track operator, bake)"),
    "make test": (SUITE, "this suite"),
    "make env": ("creates .venv from the package index (network)", None),
    "make lint": ("ruff from .venv (made first if absent): .ci/run runs it before make test",
                  None),
    "make test-blender": (BPY_VENVS, BLENDER_VERSIONS),
    "make test-blender-all": (BPY_VENVS, BLENDER_VERSIONS),
    "make test-blender-all PYTEST_ARGS=-s": (BPY_VENVS, BLENDER_VERSIONS),
    "make build-extension": ("builds in .venv (made first if absent)",
                             "python scripts/build_extension.py --output-dir DIR"),
    "pip install torch==2.13.0": ("installs from the package index (network)", None),
    "blender -b": ("names Blender's background mode in a sentence", None),
    "blender -b scene.blend --python ...": (NO_BLENDER, HEADLESS_RUN),
    "blender -b scene.blend --python scripts/headless_track.py -- --object donut --video "
    "plate.mp4 --out tracked.blend": (NO_BLENDER, HEADLESS_RUN),
    "blender -b scene.blend --python scripts/headless_track.py -- --object donut --video "
    "plate.mp4 --frames 1-48 --preset fast --out tracked.blend": (NO_BLENDER, HEADLESS_RUN),
    "python scripts/review_figures.py": ("a real 8-frame track in Blender that rewrites "
                                         "docs/figures/review-*.png",
                                         "tests/blender/test_review.py and test_track_modal.py "
                                         "(Preview Fit, the PSNR keys and markers)"),
    "spectralsplats track | preview | render | example | eval | batch": ("a list of the "
                                                                     "commands", None),
    "spectralsplats batch": ("the command's name in a sentence", None),
    "spectralsplats batch shot_list.txt --address auto --retries 3":
        ("needs a running Ray cluster, which the test machine lacks", HELP),
    "spectralsplats batch <Output>/shots.txt":
        ("<Output> is the Track panel's Output folder", "spectralsplats batch shots/ "
         "--local-cpus 3 (tests/farm); tests/blender/test_farm_operators.py writes shots.txt"),
    'pip install -e ".[farm]"': ("installs from the package index (network)", None),
    "python scripts/openjd_local_probe.py --openjd OPENJD":
        ("needs openjd-cli, which is no dependency of the project (a design probe)", HELP),
    "spectralsplats track": ("the command's name in a sentence", None),
    "spectralsplats COMMAND --help": ("COMMAND is each command", "spectralsplats track --help, "
                                      "render --help, example --help, eval --help"),
    ".venv/bin/python -m pytest tests/engine/test_track_zero_overlap.py "
    "tests/engine/test_examples.py": (SUITE, None),
    ".venv/bin/python -m pytest tests/engine/test_proxy.py": (SUITE, None),
    "python scripts/bench_import.py --repeats 5": (SLOW, HELP),
    "python scripts/bench_render.py": (SLOW, HELP),
    "python scripts/bench_spectral.py": (SLOW, HELP),
    "python scripts/bench_proxy.py --frames 3 --size 128 --preset fast --model direct "
    "--proxies 5000 10000": (SLOW, HELP),
    ".venv/bin/python scripts/bench_proxy.py --frames 3 --size 128 --proxies 5000 10000":
        (SLOW, HELP),
    "python scripts/bench_track.py": (SLOW, HELP),
    "python scripts/bench_step.py": (SLOW, HELP),
    "python scripts/bench_step.py --size 128 --repeats 30": (SLOW, HELP),
    "python scripts/sweep_fast_preset.py": (SLOW, HELP),
    "python scripts/eval_rigid_shift.py": (SLOW, HELP),
    "python scripts/eval_plates.py": (SLOW, "python scripts/eval_plates.py --quick "
                                            "(tests/engine/test_plates.py)"),
    "python scripts/figure2_pulse.py": (SLOW, HELP),
    ".venv/bin/python scripts/measure_render_memory.py --splats 200000 --size 512":
        ("measures the memory of a 200,000-splat render for minutes", HELP),
    EVAL.format("articulated", "", "articulated"): (SLOW, HELP),
    EVAL.format("donut", "--donut-splats 4000 ", "donut"): (SLOW, HELP),
    PLATES.format("--assets donut ", "locked:same locked:changed"): (SLOW, HELP),
    PLATES.format("--append --assets donut ", "panning:changed --knowledge clean_plate "
                  "estimate raw"): (SLOW, HELP),
    PLATES.format("--append --assets articulated ", "locked:changed --knowledge matte "
                  "clean_plate estimate raw"): (SLOW, HELP),
    "python scripts/eval_plates.py --report --out out/plates --figure docs/figures/plates.png":
        ("reads the three runs above and rewrites docs/figures/plates.png",
         "python scripts/eval_plates.py --quick (tests/engine/test_plates.py)"),
    "spectralsplats eval --from-json out/shift_sequence/articulated/shift_sequence.json "
    "out/shift_sequence/donut/shift_sequence.json --out out/shift_sequence --results "
    "docs/results.md": ("reads the two runs above and rewrites docs/results.md", HELP),
}


# -- finding the commands -------------------------------------------------------------------

def is_command(text: str) -> bool:
    words = text.split()
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
        words = words[1:]
    return len(words) >= 2 and words[0] in PROGRAMS


def block_commands(lines: list[str]) -> list[str]:
    """Commands in a code block: lines starting with a program, with their continuations
    (a trailing backslash, or an open quote) and without a trailing # comment."""
    found, pending = [], None
    for raw in lines:
        line = raw.strip() if pending is None else raw.rstrip()
        if pending is None and not is_command(line):
            continue
        line = re.sub(r"\s+#\s.*$", "", line) if pending is None or "'" not in pending else line
        text = line if pending is None else (pending + line if pending.endswith(" ")
                                             else pending + "\n" + line)
        if text.endswith("\\"):
            pending = text[:-1].rstrip() + " "
            continue
        try:
            shlex.split(text)
        except ValueError:  # an open quote: the command goes on
            pending = text
            continue
        pending = None
        found.append(text if "\n" in text else " ".join(text.split()))
    return found


def documented_commands() -> dict[str, str]:
    """{command: the first file showing it} from README.md and docs/*.md: shell code blocks
    (fenced or indented) and inline code that starts with a program."""
    found: dict[str, str] = {}
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        blocks: list[list[str]] = []

        def keep_shell(match, blocks=blocks) -> str:
            if match.group(1).strip() in SHELL_FENCES:
                blocks.append(match.group(2).splitlines())
            return ""

        text = FENCE.sub(keep_shell, path.read_text(encoding="utf-8"))
        current, blank = [], True
        for line in text.splitlines() + [""]:
            if line.startswith("    ") and (blank or current):
                current.append(line)
            elif current:
                blocks.append(current)
                current = []
            blank = not line.strip()
        for block in blocks:
            for command in block_commands(block):
                found.setdefault(command, path.name)
        for span in re.findall(r"`([^`]+)`", text):
            span = " ".join(span.split())
            if is_command(span):
                found.setdefault(span, path.name)
    return found


def test_every_documented_command_is_run_or_listed_with_its_reason():
    documented = documented_commands()
    unknown = {c: f for c, f in documented.items() if c not in RUN and c not in NOT_RUN}
    assert not unknown, ("documented commands neither run here nor listed in NOT_RUN (add "
                         f"each to RUN with its test, or to NOT_RUN with a reason): {unknown}")
    stale = sorted((set(RUN) | set(NOT_RUN)) - set(documented))
    assert not stale, f"listed here but no longer in the docs: {stale}"
    assert not set(RUN) & set(NOT_RUN)


def test_spectralsplats_is_the_console_script_of_the_module():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"spectralsplats": "spectralsplats_addon.cli.main:main"}
    assert "from .cli.main import main" in (ROOT / "spectralsplats_addon" /
                                           "__main__.py").read_text()


# -- running them ---------------------------------------------------------------------------

def argv_and_env(command: str, **placeholders: str) -> tuple[list[str], dict]:
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    words = shlex.split(command)
    extra_path = []
    while re.fullmatch(r"[A-Z_]+=\S*", words[0]):
        name, value = words.pop(0).split("=", 1)
        assert name == "PYTHONPATH", name
        extra_path.append(str(ROOT / value))
    env["PYTHONPATH"] = os.pathsep.join(extra_path + [str(ROOT)])
    words = [placeholders.get(word, word) for word in words]
    program = words.pop(0)
    if program == "spectralsplats":
        return [sys.executable, "-m", "spectralsplats_addon", *words], env
    assert program in ("python", ".venv/bin/python", "/path/to/checkout/.venv/bin/python")
    return [sys.executable, *words], env


def run(command: str, cwd: Path, timeout: float = 300, **placeholders: str):
    argv, env = argv_and_env(command, **placeholders)
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    return done


def run_to_first_frame(command: str, cwd: Path, first_frame: int) -> str:
    """Run a tracking command as written until its first frame is tracked, then Ctrl-C."""
    argv, env = argv_and_env(command)
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    seen, deadline = [], time.monotonic() + 240
    while time.monotonic() < deadline:  # stderr is not a terminal: one line per event
        seen.append(process.stderr.readline())
        if seen[-1].startswith(f"frame {first_frame} (1/48):") or not seen[-1]:
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 4, "".join(seen) + err
    assert "stopped, partial result" in err
    return out


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """donut.ply and prop.ply (300 splats), plate.mp4 (48 frames), plates/prop_0001.png ..
    prop_0049.png (RGBA) and camera.json: the example of docs/command-line.md, verbatim."""
    folder = tmp_path_factory.mktemp("docs_commands")
    text = (ROOT / "docs" / "command-line.md").read_text(encoding="utf-8")
    camera_json = re.search(r"```json\n(.*?)```", text, re.S).group(1)
    (folder / "camera.json").write_text(camera_json)
    splats = make_marker_asset(300)
    write_ply(folder / "donut.ply", splats.to_numpy())
    write_ply(folder / "prop.ply", splats.to_numpy())
    camera = scale_camera(camera_from_blender(BlenderCamera(**json.loads(camera_json))),
                          *FOOTAGE)
    with torch.no_grad():
        out = render(splats, camera)
    rgb = np.clip(out.rgb.numpy(), 0, 1)
    write_movie(folder / "plate.mp4", rgb, 48)
    from PIL import Image

    (folder / "plates").mkdir()
    straight = np.divide(rgb, out.alpha.numpy()[..., None], out=np.zeros_like(rgb),
                         where=out.alpha.numpy()[..., None] > 1e-6)
    rgba = np.round(np.dstack([np.clip(straight, 0, 1), out.alpha.numpy()]) * 255)
    for i in range(49):
        Image.fromarray(rgba.astype(np.uint8)).save(folder / "plates" / f"prop_{i + 1:04d}.png")
    clean = np.random.default_rng(0).uniform(0, 255, (FOOTAGE[1], FOOTAGE[0], 3))
    Image.fromarray(clean.astype(np.uint8)).save(folder / "plates" / "clean.png")
    return folder


def write_movie(path: Path, rgb: np.ndarray, frames: int) -> None:
    import av

    pixels = np.round(rgb * 255).astype(np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height = pixels.shape[1], pixels.shape[0]
        stream.pix_fmt = "yuv444p"
        for _ in range(frames):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode(None))


def test_the_help_and_the_bare_command(tmp_path):
    done = run("spectralsplats --help", tmp_path)
    assert done.returncode == 0, done.stderr
    bare = run("python -m spectralsplats_addon", tmp_path)
    assert bare.returncode == 2  # no command: the usage, naming the commands
    for name in ("track", "preview", "render", "example", "eval"):
        assert name in done.stdout and name in bare.stderr
        helped = run(f"spectralsplats {name} --help", tmp_path)  # spectralsplats COMMAND --help
        assert helped.returncode == 0 and "usage:" in helped.stdout, helped.stderr


def test_track_and_render(inputs):
    for command in (f"{TRACK_DONUT} --out shot",
                    f"{TRACK_DONUT} --model direct --preset fast --out shots/donut"):
        out = command.split("--out ")[1]
        assert run_to_first_frame(command, inputs, 1).strip() == \
            str((inputs / out / "result.npz").resolve())
        assert TrackResult.load(inputs / out / "result.npz").frames.tolist() == [1]
    run_to_first_frame(TRACK_PROP, inputs, 1001)
    partial = TrackResult.load(inputs / "shots" / "prop" / "result.npz")
    assert partial.frames.tolist() == [1001] and partial.model == "rigid"
    run_to_first_frame(TRACK_PLATE, inputs, 1)
    plate = TrackResult.load(inputs / "shots" / "prop_plate" / "result.npz")
    assert plate.extra["appearance.gain"].shape == (1, 3)
    done = run(PREVIEW, inputs)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str((inputs / "shots" / "prop_plate" /
                                       "preview_12.png").resolve())

    done = run("spectralsplats render --job shots/donut --out shots/donut/preview.mp4", inputs)
    assert done.returncode == 0, done.stderr
    assert (inputs / "shots" / "donut" / "preview.mp4").stat().st_size > 0
    done = run("spectralsplats render --job shots/prop --out shots/prop/frames/ "
               "--no-side-by-side", inputs)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in (inputs / "shots" / "prop" / "frames").iterdir()] == \
        ["frame_1001.png"]


def test_the_worker(inputs, tmp_path):
    job = tmp_path / "job"
    made = run(f"spectralsplats track --asset donut.ply --video plate.mp4 --camera camera.json "
               f"--frames 1-1 --model rigid --iterations 3 --out {job}", inputs)
    assert made.returncode == 0, made.stderr
    for synopsis in (WORKER, f"{WORKER} --resume", f"{WORKER} --no-resume"):
        done = run(synopsis, inputs, JOB_DIR=str(job))
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout.splitlines()[-1])["event"] == "finished"
    frame = TrackResult.load(job / "result.npz").frames[0]
    done = run(WORKER_PREVIEW, inputs, JOB_DIR=str(job), SCENE_FRAME=str(frame),
               **{"OUT.png": str(tmp_path / "preview.png")})
    assert done.returncode == 0, done.stderr
    event = json.loads(done.stdout.splitlines()[-1])
    assert event["event"] == "preview" and (tmp_path / "preview.png").is_file()


def test_the_environment_check(tmp_path):
    done = run("/path/to/checkout/.venv/bin/python -m spectralsplats_addon.engine.environment",
               tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_examples(tmp_path):
    for command in (c for c in RUN if " example " in c):
        done = run(command, tmp_path)
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "body").is_dir() and (tmp_path / "out" / "donut").is_dir()


def test_the_extension_build(tmp_path):
    done = run("python scripts/build_extension.py --output-dir DIR", ROOT, DIR=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert [p.suffix for p in tmp_path.iterdir()] == [".zip"]


def test_the_model_timing_snippet():
    done = run(CLIP_TIMING, ROOT)
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()] == ["rigid", "direct", "mlp"]


SCENE = """
import json, sys
import bpy
from mathutils import Matrix
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
camera = json.load(open("camera.json"))
data = bpy.data.cameras.new("Camera")
data.lens, data.sensor_width, data.sensor_height = 50.0, 36.0, 24.0
obj = bpy.data.objects.new("Camera", data)
scene.collection.objects.link(obj)
obj.matrix_world = Matrix(camera["matrix_world"])
scene.camera = obj
scene.render.resolution_x, scene.render.resolution_y = 1920, 1080
scene.render.resolution_percentage = 100
bpy.ops.wm.save_as_mainfile(filepath="scene.blend")
"""


def test_headless_tracking_with_the_bpy_module(inputs, tmp_path):
    """scene.blend: the documented camera; plate.mp4: a 2-frame clip (the strip's range)."""
    for name in ("camera.json", "donut.ply"):
        (tmp_path / name).write_bytes((inputs / name).read_bytes())
    write_movie(tmp_path / "plate.mp4", np.zeros((FOOTAGE[1], FOOTAGE[0], 3)), 2)
    made = subprocess.run([sys.executable, "-c", SCENE], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    for command in (c for c in RUN if "headless_track.py" in c):
        (tmp_path / "tracked.blend").unlink(missing_ok=True)
        argv, env = argv_and_env(command)
        argv[1] = str(ROOT / argv[1])  # scripts/... from the checkout; the inputs from here
        done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        assert (tmp_path / "tracked.blend").is_file()


@pytest.mark.parametrize("command", [c for c, (_, how) in NOT_RUN.items() if how == HELP])
def test_a_command_not_run_has_its_help_listing_every_option_it_uses(command):
    argv, env = argv_and_env(command)
    options = [word for word in argv if word.startswith("--")]
    script = [w for w in argv[1:] if not w.startswith("-")][:1]
    head = argv[:argv.index(script[0]) + 1] if script[0].endswith(".py") else argv[:4]
    done = subprocess.run([*head, "--help"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    missing = [option for option in options if option not in done.stdout]
    assert not missing, f"{command}: --help does not list {missing}"
