"""The job folder on disk: job.json, asset.ply, rig.npz (and the footage it names).

    path = write_job(folder, job, splats, rig)   # -> folder / "job.json"
    loaded = load_job(folder)                    # LoadedJob: job, splats, rig, footage lengths
    job = read_job(folder)                       # job.json alone, validated

``load_job`` checks everything the worker will need before any work starts and raises one
JobError listing every problem, each with its field path: job.json's fields, the asset and
the rig (present, readable, made for each other), and the footage from its headers
(engine/job/footage.py: lengths, sizes, mattes).
numpy, plyfile and (for movies) PyAV only: no torch.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import JobError, SplatFileError
from ..io import read_splats, write_ply
from ..atomic import atomic_file, inside
from ..rig import Rig
from ..splats import Splats
from .footage import check_footage
from .model import Job
from .validate import Problem, is_clean, validate_job, version_problem

JOB_FILE = "job.json"
WEIGHT_SUM_TOLERANCE = 1e-3  # each splat's rig weights sum to 1 within this
MAX_JOB_BYTES = 64 << 20     # job.json: 64 MiB holds a million frames


@dataclass
class LoadedJob:
    """A validated job with its asset and rig read. ``footage_lengths`` maps each movie the
    job uses (resolved path) to its frame count."""

    folder: Path
    job: Job
    splats: Splats
    rig: Rig
    footage_lengths: dict[str, int] = field(default_factory=dict)

    def resolve(self, path: str) -> Path:
        """A path from job.json: relative to the job folder, or absolute (footage)."""
        return resolve(self.folder, path)

    @property
    def result_path(self) -> Path:
        return self.resolve(self.job.outputs.result)


def resolve(folder, path: str) -> Path:
    """``path`` from job.json as a file: relative to ``folder``, or absolute."""
    path = Path(path)
    return path if path.is_absolute() else Path(folder) / path


def write_job(folder, job: Job, splats: Splats, rig: Rig) -> Path:
    """Write job.json, the asset .ply and rig.npz into ``folder`` (created if needed) and
    return the path of job.json.

    The job is validated and the rig checked against the splats first (JobError lists every
    problem; nothing is written). Then any old job.json is removed, the asset and the rig
    are written (each beside its place, then renamed), and job.json comes last: a reader
    sees a complete job or no job.json at all.
    """
    folder = Path(folder)
    problems = validate_job(job.to_dict())
    problems += rig_problems(rig, len(splats))
    if problems:
        raise JobError(folder, problems)
    folder.mkdir(parents=True, exist_ok=True)
    job_path = folder / JOB_FILE
    job_path.unlink(missing_ok=True)
    ply_path, rig_path = folder / job.asset.ply, folder / job.asset.rig
    for path in (ply_path, rig_path, folder / job.outputs.result):
        path.parent.mkdir(parents=True, exist_ok=True)
    outside = [name for name, path in (("asset.ply", ply_path), ("asset.rig", rig_path),
                                       ("outputs.result", folder / job.outputs.result))
               if not inside(folder, path)]
    if outside:
        raise JobError(folder, [(name, "its folder is a link that leads out of the job "
                                       "folder; remove the link") for name in outside])
    write_ply(ply_path, splats)
    with atomic_file(rig_path) as handle:
        rig.save(handle)
    with atomic_file(job_path) as handle:
        handle.write(job_json(job).encode("utf-8"))
    return job_path


def job_json(job: Job) -> str:
    """job.json's text: indented JSON with each array of numbers (a matrix row, a colour) on
    one line. Strict JSON: NaN and Infinity raise ValueError (validation rejects them)."""
    text = json.dumps(job.to_dict(), indent=2, allow_nan=False)
    # Arrays that json.dumps broke over lines ("[" then a newline: never inside a string).
    number = r"-?[0-9][-+0-9.eE]*"
    numbers = re.compile(rf"\[\n\s*({number}(?:,\n\s*{number})*)\n\s*\]")
    return numbers.sub(lambda m: "[" + ", ".join(re.split(r",\n\s*", m.group(1))) + "]",
                       text) + "\n"


def read_job(folder) -> Job:
    """job.json of ``folder``, validated (no other file is read). JobError otherwise."""
    folder = Path(folder)
    data, problems = _read_json(folder)
    if not problems:
        problems = validate_job(data)
    if problems:
        raise JobError(folder, problems)
    return Job.from_dict(data)


def load_job(folder) -> LoadedJob:
    """Validate job.json, read and cross-check the asset and the rig, and check the footage
    (see the module docstring). JobError lists every problem found."""
    folder = Path(folder)
    data, problems = _read_json(folder)
    if problems:
        raise JobError(folder, problems)
    problems = validate_job(data)
    if not isinstance(data, dict) or version_problem(data) is not None:
        raise JobError(folder, problems)  # nothing further can be read from it as v1
    flagged = [path for path, _ in problems]

    def clean(path: str) -> bool:
        return is_clean(path, flagged)

    splats = rig = None
    asset = data.get("asset")
    if isinstance(asset, dict) and clean("asset.ply") and clean("asset.rig") \
            and "ply" in asset and "rig" in asset:
        splats, rig = _check_asset(folder, str(asset["ply"]), str(asset["rig"]), problems)
    frames = data.get("frames") if isinstance(data.get("frames"), list) else []
    lengths = check_footage(folder, frames, clean, problems)
    if problems:
        raise JobError(folder, problems)
    return LoadedJob(folder, Job.from_dict(data), splats, rig, lengths)


def _read_json(folder: Path) -> tuple[object, list[Problem]]:
    try:
        return _read_json_file(folder)
    except OSError as error:  # a name too long, no permission, ...
        return None, [(JOB_FILE, f"cannot be read ({error.strerror or error}); check the job "
                                 "folder's name and permissions")]


def _read_json_file(folder: Path) -> tuple[object, list[Problem]]:
    path = folder / JOB_FILE
    if not path.is_file():
        where = "no such folder" if not folder.is_dir() else "no job.json in the folder"
        return None, [(JOB_FILE, f"{where} ({path}); write the job first (write_job), or "
                                 "check the folder")]
    if path.stat().st_size > MAX_JOB_BYTES:
        return None, [(JOB_FILE, f"{path.stat().st_size} bytes, more than the "
                                 f"{MAX_JOB_BYTES} a job may have; write the job again")]
    try:
        return json.loads(path.read_text(encoding="utf-8")), []
    except RecursionError:
        return None, [(JOB_FILE, "nested too deeply to be a job; write the job again")]
    except UnicodeDecodeError as error:
        return None, [(JOB_FILE, f"not UTF-8 text ({error}); write the job again")]
    except json.JSONDecodeError as error:
        return None, [(JOB_FILE, f"not valid JSON (line {error.lineno} column {error.colno}: "
                                 f"{error.msg}); write the job again or fix the file")]


# -- asset and rig --------------------------------------------------------------------------

def _check_asset(folder: Path, ply: str, rig_file: str, problems: list[Problem]):
    splats = rig = None
    ply_path, rig_path = resolve(folder, ply), resolve(folder, rig_file)
    if not ply_path.is_file():
        problems.append(("asset.ply", f"file not found: {ply_path}; write the job again"))
    else:
        try:
            splats = read_splats(ply_path)
        except SplatFileError as error:
            problems.append(("asset.ply", f"not a readable splat file: {error}"))
    if not rig_path.is_file():
        problems.append(("asset.rig", f"file not found: {rig_path}; rig the asset and write "
                                      "the job again"))
    else:
        try:
            rig = Rig.load(rig_path)
        except (OSError, ValueError, TypeError, KeyError, EOFError,
                zipfile.BadZipFile) as error:
            problems.append(("asset.rig", f"not a readable rig file ({type(error).__name__}: "
                                          f"{error}); expected control_points, indices, "
                                          "weights and radius; rig the asset again"))
    if rig is not None:
        problems += rig_problems(rig, None if splats is None else len(splats))
    return splats, rig


def rig_problems(rig: Rig, num_splats: int | None) -> list[Problem]:
    """What is wrong with ``rig`` for an asset of ``num_splats`` splats (None: unknown), as
    problems at ``asset.rig``: shapes control_points [P, 3], indices [N, K] int within
    0 .. P-1, weights [N, K] finite, non-negative, each row summing to 1."""
    fix = "rig this asset again"
    cp, idx, w = (np.asarray(a) for a in (rig.control_points, rig.indices, rig.weights))
    for name, array in (("control_points", cp), ("weights", w)):
        if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
            return [("asset.rig", f"{name} must be real numbers, got {array.dtype}; {fix}")]
    if cp.ndim != 2 or cp.shape[1] != 3 or cp.shape[0] < 1 or not np.isfinite(cp).all():
        return [("asset.rig", f"control_points must be [P, 3] finite numbers with P >= 1, got "
                              f"shape {cp.shape}; {fix}")]
    if idx.ndim != 2 or idx.shape[1] < 1 or not np.issubdtype(idx.dtype, np.integer):
        return [("asset.rig", f"indices must be [N, K] integers, got shape {idx.shape} of "
                              f"{idx.dtype}; {fix}")]
    problems = []
    if num_splats is not None and idx.shape[0] != num_splats:
        problems.append(("asset.rig", f"the rig binds {idx.shape[0]} splats but the asset "
                                      f"holds {num_splats}: it was made for another asset; "
                                      f"{fix}"))
    count = cp.shape[0]
    outside = (idx < 0) | (idx >= count)
    if outside.any():
        splat, slot = np.argwhere(outside)[0]
        problems.append(("asset.rig", f"indices must lie in 0 to {count - 1} (the rig has "
                                      f"{count} control points), {int(outside.sum())} do not, "
                                      f"first {int(idx[splat, slot])} at splat {splat}; {fix}"))
    if w.shape != idx.shape:
        problems.append(("asset.rig", f"weights must be [N, K] = {list(idx.shape)} like the "
                                      f"indices, got {list(w.shape)}; {fix}"))
    elif not np.isfinite(w).all() or (w < 0).any() or \
            (np.abs(w.sum(axis=1) - 1.0) > WEIGHT_SUM_TOLERANCE).any():
        problems.append(("asset.rig", f"weights must be finite, non-negative, and sum to 1 for "
                                      f"each splat; {fix}"))
    return problems
