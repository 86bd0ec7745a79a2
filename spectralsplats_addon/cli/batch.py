"""Track many shots at once on a Ray cluster, each shot a job folder run by the worker.

    spectralsplats batch shots/                       # a local cluster on this machine
    spectralsplats batch shot_list.txt --address auto --retries 3

SHOTS are job folders (job.json, asset.ply, rig.npz: docs/job-format.md), folders holding
job folders, or shot lists (text, one job folder a line, relative to the list). Every one is
checked before any shot runs. Each shot is one Ray task; Ray retries a task that is killed or
stopped, and the worker resumes from the frames it saved; a shot with bad input (the
worker's exit 2) runs once and its message is shown. The worker's events go to farm.log in
each job folder, its messages to worker.log. One line per shot goes to stderr as it ends;
stdout gets one JSON object per shot at the end. Exit codes: 0 every shot complete, 2 bad
arguments or shot paths (nothing ran), 3 one or more shots did not complete.
"""

from __future__ import annotations

import json
import sys

from ..engine.vocabulary import ExitCode

HELP = "track many job folders at once on a Ray cluster (local by default), with retries"


def add_arguments(parser) -> None:
    parser.add_argument("shots", nargs="+", metavar="SHOTS",
                        help="job folders, folders of job folders, or shot list files")
    parser.add_argument("--address", metavar="ADDR",
                        help="a running Ray cluster (auto, ray://HEAD:10001); default: start "
                             "a local one on this machine")
    parser.add_argument("--retries", type=int, default=2, metavar="N",
                        help="times Ray runs a killed or stopped shot again (default 2)")
    parser.add_argument("--cpus-per-shot", type=float, default=1.0, metavar="N",
                        help="Ray CPUs each shot reserves (default 1)")
    parser.add_argument("--local-cpus", type=int, metavar="N",
                        help="CPUs of the local cluster, so shots that run at once (default: "
                             "this machine's; only without --address)")


def usage_problem(args) -> str | None:
    if args.retries < 0:
        return f"--retries: expected 0 or more, got {args.retries}"
    if not args.cpus_per_shot > 0:
        return f"--cpus-per-shot: expected a number above 0, got {args.cpus_per_shot}"
    if args.local_cpus is not None and args.local_cpus < 1:
        return f"--local-cpus: expected 1 or more, got {args.local_cpus}"
    if args.local_cpus is not None and args.address:
        return "--local-cpus applies to the local cluster only; drop it or --address"
    return None


def report(outcome) -> None:
    """One line on stderr as a shot ends."""
    if hasattr(outcome, "frames_done"):
        resumed = f", {outcome.resumed_frames} resumed" if outcome.resumed_frames else ""
        print(f"done    {outcome.folder}: {outcome.frames_done} frames{resumed}",
              file=sys.stderr, flush=True)
    else:
        why = "failed" if outcome.retried else "invalid"
        print(f"{why:<8}{outcome.folder}: {outcome.message}", file=sys.stderr, flush=True)


def run(args) -> int:
    from ..farm import ShotListError, find_shots

    problem = usage_problem(args)
    if problem is not None:
        print(f"spectralsplats batch: {problem}", file=sys.stderr)
        return ExitCode.INVALID
    try:
        folders = find_shots(args.shots)
    except ShotListError as error:
        print(f"spectralsplats batch: {error}", file=sys.stderr)
        return ExitCode.INVALID
    from ..farm.ray_batch import run_batch

    try:
        import ray  # noqa: F401  (the farm engine: the "farm" extra)
    except ModuleNotFoundError:
        print("spectralsplats batch: needs Ray, which is not installed; install it with "
              "pip install \"spectralsplats[farm]\" (or -e \".[farm]\" in a checkout)",
              file=sys.stderr)
        return ExitCode.INVALID
    real_stdout, sys.stdout = sys.stdout, sys.stderr  # Ray's own messages go to stderr
    try:
        outcomes = run_batch(folders, address=args.address, retries=args.retries,
                             cpus_per_shot=args.cpus_per_shot, local_cpus=args.local_cpus,
                             on_done=report)
    finally:
        sys.stdout = real_stdout
    for outcome in outcomes:
        print(json.dumps(outcome.to_dict()))
    failed = [o for o in outcomes if not hasattr(o, "frames_done")]
    print(f"spectralsplats batch: {len(outcomes) - len(failed)} of {len(outcomes)} shots "
          "complete", file=sys.stderr)
    return ExitCode.FAILED if failed else ExitCode.COMPLETE
