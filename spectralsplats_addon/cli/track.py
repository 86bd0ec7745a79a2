"""Track an asset's motion in a video and write a result folder.

    spectralsplats track --asset donut.ply --video plate.mp4 --camera camera.json \\
        --frames 1-48 --model direct --preset fast --out shots/donut

Writes a job folder (job.json, asset.ply, rig.npz: docs/job-format.md) in --out (default
./spectralsplats_out/<asset name>), then tracks it in this process and writes result.npz
there; a progress line goes to stderr, the result's path to stdout. Ctrl-C stops after the
current step and keeps the frames finished so far (complete=false); the same command run
again resumes them. Exit codes as the worker's: 0 complete, 2 bad arguments or inputs,
3 tracking failed, 4 stopped.

--camera is a JSON file with the fields of job.json's "camera" (a Blender camera: matrix_world,
lens, sensor_width, sensor_height, sensor_fit, resolution_x, resolution_y, ...), or a
job.json whose camera to use. --frames A-B are scene frames; frame A is footage index 0
(or --first-index).

A plate (a photograph of the object in front of its background, no alpha) is tracked best
with a matte (--matte) or a known background: a clean plate (--clean-plate, or --background
PATH; one image for a locked-off camera, or a movie or sequence like --video) or one
estimated from the clip (--estimate-background, a locked-off camera). With neither, a warning
says so before tracking starts (docs/command-line.md, "Plates"). `spectralsplats preview`
shows what tracking will compare for one frame.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from contextlib import contextmanager
from pathlib import Path

from ..engine.errors import SpectralSplatsError
from ..engine.job.schema import APPEARANCES, MATTE_CHANNELS
from ..engine.vocabulary import DEVICES, LOSSES, MODELS, PRESETS, EventKind

HELP = "track an asset (.ply) against a video or image sequence; writes a result folder"

DEFAULT_OUT = Path("spectralsplats_out")
FRAME_RANGE = re.compile(r"^(-?\d+)(?:\s*-\s*(-?\d+))?$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--asset", required=True, metavar="PLY", help="the splats (.ply)")
    parser.add_argument("--drop-invalid", action="store_true",
                        help="leave out splats with NaN/Inf values or a zero-length quaternion "
                             "(default: refuse such an asset)")
    parser.add_argument("--video", required=True, metavar="PATH",
                        help="a movie, a folder of images, or a pattern (frame_%%04d.png, "
                             "frame_####.png)")
    parser.add_argument("--matte", metavar="PATH",
                        help="alpha for each frame: a movie, folder or pattern like --video "
                             "(white = object, or its alpha channel)")
    parser.add_argument("--matte-channel", choices=MATTE_CHANNELS, default="auto",
                        help="what in the matte is the object: its alpha channel, its "
                             "luminance (white = object), or auto: alpha where it has one "
                             "(default auto)")
    parser.add_argument("--clean-plate", metavar="PATH",
                        help="the background alone: one image (a locked-off camera) or a "
                             "movie, folder or pattern like --video, at the footage's size")
    parser.add_argument("--estimate-background", action="store_true",
                        help="estimate the background from the clip (per-pixel temporal "
                             "median; a locked-off camera and at least 3 frames)")
    parser.add_argument("--appearance", choices=APPEARANCES, default="auto",
                        help="colour transform of the render (per-channel gain and offset) "
                             "optimised with the motion: one for the clip, one per frame, "
                             "off, or auto: off for footage with its own alpha, else clip "
                             "(default auto)")
    parser.add_argument("--camera", required=True, metavar="JSON",
                        help="the camera as job.json's \"camera\" fields (Blender camera data)")
    parser.add_argument("--object-matrix", metavar="JSON",
                        help="the asset's object-to-world 4 x 4 matrix, row-major: a JSON file "
                             "or inline JSON (default: identity)")
    parser.add_argument("--frames", metavar="A-B",
                        help="scene frames to track (default: 1 to the footage's length)")
    parser.add_argument("--first-index", type=int, default=0, metavar="I",
                        help="footage index of scene frame A (default 0: the first frame)")
    parser.add_argument("--model", choices=MODELS, default="direct",
                        help="deformation model (default direct)")
    parser.add_argument("--loss", choices=LOSSES, default="spectral",
                        help="spectral moments then spatial refinement, or pixel only "
                             "(default spectral)")
    parser.add_argument("--preset", choices=PRESETS, default="robust",
                        help="tracking settings preset (default robust)")
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="auto: cuda if present, else mps, else cpu (default auto)")
    parser.add_argument("--resolution", type=int, default=512, metavar="PX",
                        help="longest side footage and renders are resampled to (default 512)")
    parser.add_argument("--iterations", type=int, metavar="N",
                        help="optimisation steps per frame (overrides the preset)")
    parser.add_argument("--control-points", type=int, default=512, metavar="P",
                        help="rig control points (default 512; fewer for small assets)")
    parser.add_argument("--background", default="0,0,0", metavar="R,G,B|PATH",
                        help="colour the footage's alpha and the renders are composited over, "
                             "in [0, 1] (default 0,0,0); or a clean plate's path, as "
                             "--clean-plate")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    parser.add_argument("--out", metavar="DIR",
                        help="the job and result folder (default ./spectralsplats_out/<asset>)")


CLI_HINT = "Pass --drop-invalid to track the asset without them"


class UsageError(SpectralSplatsError, ValueError):
    """A command-line value that cannot be used (the message names the option)."""


def parse_frames(text: str | None, footage_length: int, first_index: int) -> list[int]:
    """--frames "A-B" (or "A") -> scene frames A..B; default 1 .. the footage's length."""
    if text is None:
        if first_index >= footage_length:
            raise UsageError(f"--first-index {first_index}: the footage has only "
                             f"{footage_length} frames (indices 0 to {footage_length - 1})")
        return list(range(1, footage_length - first_index + 1))
    match = FRAME_RANGE.match(text.strip())
    if match is None:
        raise UsageError(f"--frames {text!r}: expected A-B, two scene frame numbers such as "
                         "1-48 (or one frame, A)")
    first = int(match.group(1))
    last = first if match.group(2) is None else int(match.group(2))
    if last < first:
        raise UsageError(f"--frames {text}: the last frame comes before the first")
    if last - first + 1 > footage_length - first_index:
        raise UsageError(f"--frames {text}: {last - first + 1} frames, but the footage has "
                         f"{footage_length - first_index} from index {first_index} on; "
                         "change --frames or --first-index")
    return list(range(first, last + 1))


def parse_background(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not all(0.0 <= v <= 1.0 for v in values):
        raise UsageError(f"--background {text!r}: expected three numbers in [0, 1], e.g. "
                         "0.5,0.5,0.5, or the path of a clean plate (no such file)")
    return values


def is_colour(text: str) -> bool:
    """Whether --background names a colour (R,G,B) rather than a clean plate's path."""
    return not Path(text).exists() and "," in text


def plate_choice(args) -> tuple[tuple[float, float, float], str | None, str]:
    """(background colour, clean plate spec or None, settings.background) from --background,
    --clean-plate and --estimate-background; UsageError for two backgrounds at once."""
    colour, plate = (0.0, 0.0, 0.0), args.clean_plate
    if is_colour(args.background):
        colour = parse_background(args.background)
    elif plate is not None:
        raise UsageError(f"--background {args.background} and --clean-plate {plate}: give the "
                         "clean plate once")
    else:
        plate = args.background
    if plate is not None and args.estimate_background:
        raise UsageError("--estimate-background and a clean plate: give one background, the "
                         "clean plate (known) or the estimate (from the clip)")
    mode = "clean_plate" if plate else ("estimate" if args.estimate_background else "auto")
    return colour, plate, mode


def clean_plate_sources(spec: str, indices: list[int]):
    """One JobSource per footage index: the same image for a still, else like --video."""
    from ..engine.job import JobSource
    from ..engine.video.sequence_files import IMAGE_SUFFIXES

    path = Path(spec)
    if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
        return [JobSource(str(path.resolve()))] * len(indices)
    if not path.exists() and "%" not in spec and "#" not in spec and "*" not in spec:
        raise UsageError(f"--clean-plate {spec}: no such file or folder; give an image, a "
                         "movie, a folder of images or a pattern like frame_%04d.png")
    return footage_sources(spec, indices, "--clean-plate")


def read_json_argument(text: str, option: str):
    """Inline JSON (starting with [ or {) or the path of a JSON file."""
    if text.lstrip().startswith(("[", "{")):
        source, raw = "inline", text
    else:
        path = Path(text)
        if not path.is_file():
            raise UsageError(f"{option} {text}: no such file; give a JSON file or inline JSON")
        try:
            source, raw = str(path), path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise UsageError(f"{option} {text}: not UTF-8 text ({error.reason} at byte "
                             f"{error.start}); give a JSON file") from None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise UsageError(f"{option} ({source}): not valid JSON ({error})") from None
    except RecursionError:
        raise UsageError(f"{option} ({source}): nested too deeply to be JSON data") from None


@contextmanager
def reading(option: str, value):
    """An OSError while the block reads ``value`` (a name too long, no permission) becomes a
    UsageError naming ``option``."""
    try:
        yield
    except OSError as error:
        shown = str(value) if len(str(value)) <= 80 else str(value)[:77] + "..."
        raise UsageError(f"{option} {shown}: cannot be used ({error.strerror or error})"
                         ) from None


def check_numbers(args) -> None:
    """UsageError naming the option for a number outside its range."""
    limits = (("--seed", args.seed, 0, 10 ** 9), ("--first-index", args.first_index, 0, None),
              ("--resolution", args.resolution, 16, None),
              ("--control-points", args.control_points, 1, None),
              ("--iterations", args.iterations, 1, None))
    for option, value, low, high in limits:
        if value is not None and (value < low or (high is not None and value > high)):
            wanted = f"from {low} to {high}" if high is not None else f"{low} or more"
            raise UsageError(f"{option} {value}: give a whole number {wanted}")


def check_out(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--out {folder}: a file, not a folder; name a folder for the job")


def footage_sources(spec: str, indices: list[int], option: str):
    """JobSources for footage ``spec`` at ``indices``: a movie's frames, or the image files of
    a sequence. Raises UsageError when an index lies past the end."""
    from ..engine.job import JobSource
    from ..engine.video import list_sequence, open_frames
    from ..engine.video.sequence_files import is_sequence_spec

    with open_frames(spec) as frames:
        length = len(frames)
    if indices and (indices[0] < 0 or indices[-1] >= length):
        raise UsageError(f"{option} {spec}: the frames asked for need footage indices "
                         f"{indices[0]} to {indices[-1]} but it has {length} frames (0 to "
                         f"{length - 1}); change --frames or --first-index")
    if is_sequence_spec(spec):
        files = list_sequence(spec)
        return [JobSource(str(files[i].path.resolve())) for i in indices]
    movie = str(Path(spec).resolve())
    return [JobSource(movie, i) for i in indices]


def footage_length(spec: str) -> int:
    from ..engine.video import open_frames

    with open_frames(spec) as frames:
        return len(frames)


def build_job(args):
    """(job dict for job.json, splats, rig, folder) from the arguments; UsageError, JobError,
    VideoError or SplatFileError where an input is wrong."""
    from ..engine.errors import SplatFileError
    from ..engine.io import read_splats
    from ..engine.io.load import DROP_INVALID_HINT
    from ..engine.job import Job, JobAsset, JobFrame, JobMatte, JobSettings
    from ..engine.job.model import IDENTITY, matrix_rows
    from ..engine.rig import build_rig

    check_numbers(args)
    with reading("--out", args.out):
        folder = Path(args.out) if args.out else DEFAULT_OUT / Path(args.asset).stem
        check_out(folder)
    try:
        with reading("--asset", args.asset):
            splats = read_splats(args.asset, drop_invalid=args.drop_invalid)
    except SplatFileError as error:
        raise UsageError(f"--asset {error.path}: {error.problem}. "
                         f"{error.fix.replace(DROP_INVALID_HINT, CLI_HINT)}") from None
    with reading("--video", args.video):
        length = footage_length(args.video)
    with reading("--matte", args.matte):
        if args.matte and footage_length(args.matte) != length:
            raise UsageError(f"--matte {args.matte}: {footage_length(args.matte)} frames but "
                             f"--video has {length}; a matte has one frame for each frame of "
                             "the footage")
    scene_frames = parse_frames(args.frames, length, args.first_index)
    indices = [args.first_index + f - scene_frames[0] for f in scene_frames]
    with reading("--video", args.video):
        sources = footage_sources(args.video, indices, "--video")
    with reading("--matte", args.matte):
        mattes = footage_sources(args.matte, indices, "--matte") if args.matte else None
    with reading("--background", args.background):
        background, plate, mode = plate_choice(args)
    with reading("--clean-plate", plate):
        plates = clean_plate_sources(plate, indices) if plate else [None] * len(indices)
    with reading("--camera", args.camera):
        camera = read_json_argument(args.camera, "--camera")
    if isinstance(camera, dict) and isinstance(camera.get("camera"), dict):
        camera = camera["camera"]  # a job.json: its camera
    with reading("--object-matrix", args.object_matrix):
        matrix = matrix_rows(IDENTITY) if args.object_matrix is None else \
            read_json_argument(args.object_matrix, "--object-matrix")
    if isinstance(matrix, dict) and "matrix_world" in matrix:
        matrix = matrix["matrix_world"]
    config = {} if args.iterations is None else {"iterations": args.iterations}
    frames = [JobFrame(f, source, None if mattes is None else
                       JobMatte(mattes[i], args.matte_channel), background,
                       clean_plate=plates[i])
              for i, (f, source) in enumerate(zip(scene_frames, sources))]
    settings = JobSettings(model=args.model, loss=args.loss, preset=args.preset,
                           device=args.device, resolution=args.resolution, config=config,
                           seed=args.seed, background=mode, appearance=args.appearance)
    data = Job(asset=JobAsset(), camera=_placeholder_camera(), frames=frames,
               settings=settings).to_dict()
    data["camera"], data["asset"]["matrix_world"] = camera, matrix  # validated as given
    data["meta"] = {"asset": str(Path(args.asset).resolve()), "video": str(args.video),
                    "command": "spectralsplats track"}
    rig = build_rig(splats.means, args.control_points, seed=args.seed)
    return data, splats, rig, folder


def _placeholder_camera():
    from ..engine.conventions import BlenderCamera

    return BlenderCamera()


def write_job_folder(data: dict, splats, rig, folder: Path) -> bool:
    """Validate and write the job; True when job.json is unchanged (same command again), so
    that a partial result there may be resumed."""
    from ..engine.job import parse_job, write_job
    from ..engine.job.folder import JOB_FILE, job_json

    job = parse_job(data)  # JobError naming each bad field (camera.lens, ...)
    old = folder / JOB_FILE
    same = old.is_file() and old.read_text(encoding="utf-8") == job_json(job)
    write_job(folder, job, splats, rig)
    return same


def run(args) -> int:
    from ..engine.errors import ConfigError, DeviceError, JobError, SpectralSplatsError
    from ..engine.worker.main import (EXIT_COMPLETE, EXIT_FAILED, EXIT_INVALID, EXIT_STOPPED,
                                 install_stop_handlers, restore_handlers)
    from ..engine.progress import CancelToken
    from .progress_line import ProgressLine

    try:
        data, splats, rig, folder = build_job(args)
        same = write_job_folder(data, splats, rig, folder)
    except (UsageError, SpectralSplatsError, ValueError) as error:
        print(f"spectralsplats track: {error}", file=sys.stderr)
        return EXIT_INVALID
    except OSError as error:  # the job folder cannot be written
        print(f"spectralsplats track: --out {args.out or DEFAULT_OUT}: cannot be written "
              f"({error.strerror or error}); choose another folder", file=sys.stderr)
        return EXIT_INVALID
    token = CancelToken()
    previous = install_stop_handlers(token)
    line = ProgressLine(sys.stderr)
    try:
        from ..engine.worker.run_job import run_job

        result = run_job(folder, callback=line, cancel=token, resume=same)
    except (JobError, DeviceError, ConfigError) as error:
        line({"event": EventKind.ERROR, "kind": type(error).__name__, "message": str(error)})
        return EXIT_INVALID
    except Exception as error:
        line({"event": EventKind.ERROR, "kind": type(error).__name__, "message": str(error)})
        return EXIT_FAILED
    finally:
        restore_handlers(previous)
    print(folder.resolve() / data["outputs"]["result"])
    return EXIT_COMPLETE if result.complete else EXIT_STOPPED
