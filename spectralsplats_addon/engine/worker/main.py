"""The worker process: ``python -m spectralsplats_addon.engine.worker JOB_DIR [--resume |
--no-resume]`` tracks one job folder and writes result.npz into it.

stdout carries only events, one JSON object per line, flushed after each (docs/job-format.md,
"The worker"); anything for people goes to stderr. Every event has "event" and "time"
(seconds since the worker started):

    started, frame_started, progress, frame_finished, finished   (engine/worker/run_job.py)
    {"event": "error", "message": ..., "kind": <error class>, "problems": [[path, msg], ...]}

Exit codes: EXIT_COMPLETE 0; EXIT_INVALID 2 (an invalid job or bad arguments: nothing
tracked, the folder untouched); EXIT_FAILED 3 (tracking failed: an error event, the job's
files and the frames saved before left as they were); EXIT_STOPPED 4 (SIGTERM, SIGINT or a
cancel: the partial result, complete=false, is saved, then a finished event).

SIGTERM and SIGINT set the run's CancelToken; the tracker checks it before every step and
returns, so the worker stops within one step (well inside 2 s at tracking sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import traceback
from typing import TextIO

from ..errors import ConfigError, DeviceError, JobError
from ..progress import CancelToken
from ..vocabulary import EventKind, ExitCode

EXIT_COMPLETE = ExitCode.COMPLETE
EXIT_INVALID = ExitCode.INVALID
EXIT_FAILED = ExitCode.FAILED
EXIT_STOPPED = ExitCode.STOPPED

STOP_SIGNALS = ("SIGTERM", "SIGINT")


class EventWriter:
    """Writes events as JSON lines on ``stream`` (stdout), flushed after each; adds "time"
    (seconds since ``started_at``) where an event has none."""

    def __init__(self, stream: TextIO, started_at: float):
        self.stream, self.started_at = stream, started_at

    def __call__(self, event: dict) -> None:
        if "time" not in event:
            event = {"event": event["event"], "time": self.elapsed(),
                     **{k: v for k, v in event.items() if k != "event"}}
        self.stream.write(json.dumps(event, allow_nan=False) + "\n")
        self.stream.flush()

    def elapsed(self) -> float:
        return round(time.perf_counter() - self.started_at, 3)

    def error(self, error: BaseException) -> None:
        event = {"event": EventKind.ERROR, "time": self.elapsed(), "message": str(error),
                 "kind": type(error).__name__}
        if isinstance(error, JobError):
            event["problems"] = [list(problem) for problem in error.problems]
        self(event)


def install_stop_handlers(token: CancelToken) -> dict:
    """SIGTERM and SIGINT cancel ``token`` instead of killing the process; returns the
    handlers they replace (for ``restore_handlers``)."""
    def stop(signum, _frame):
        print(f"worker: {signal.Signals(signum).name} received; stopping after this step and "
              "saving the partial result", file=sys.stderr, flush=True)
        token.cancel()

    previous = {}
    if threading.current_thread() is not threading.main_thread():
        return previous  # signals reach the main thread only; the caller cancels instead
    for name in STOP_SIGNALS:
        number = getattr(signal, name)
        previous[number] = signal.signal(number, stop)
    return previous


def restore_handlers(previous: dict) -> None:
    for number, handler in previous.items():
        signal.signal(number, handler)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m spectralsplats_addon.engine.worker",
        description="Track a job folder (job.json, asset.ply, rig.npz) and write result.npz "
                    "into it. stdout: one JSON event per line. Exit codes: 0 complete, 2 "
                    "invalid job or arguments, 3 tracking failed, 4 stopped (partial result).")
    parser.add_argument("job_dir", metavar="JOB_DIR", help="the job folder")
    resume = parser.add_mutually_exclusive_group()
    resume.add_argument("--resume", dest="resume", action="store_true", default=True,
                        help="continue a partial result (complete=false) in the folder "
                             "(the default)")
    resume.add_argument("--no-resume", dest="resume", action="store_false",
                        help="track from the first frame even if a partial result exists")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, stdout: TextIO | None = None,
         cancel: CancelToken | None = None) -> int:
    """Run the worker; returns the exit code (module docstring). ``cancel`` lets a caller in
    the same process stop it; signals cancel it too."""
    started_at = time.perf_counter()
    events = EventWriter(stdout or sys.stdout, started_at)
    if stdout is None:  # keep stdout for events: a stray print from a library goes to stderr
        real_stdout, sys.stdout = sys.stdout, sys.stderr
        try:
            return _run(argv, events, cancel)
        finally:
            sys.stdout = real_stdout
    return _run(argv, events, cancel)


def _run(argv: list[str] | None, events: EventWriter, cancel: CancelToken | None) -> int:
    try:
        args = parse_args(argv)
    except SystemExit as exit_:  # argparse has printed the usage on stderr
        if exit_.code in (0, None):
            return EXIT_COMPLETE
        events.error(ValueError("bad arguments: python -m spectralsplats_addon.engine.worker "
                                "JOB_DIR [--resume | --no-resume]"))
        return EXIT_INVALID
    token = cancel or CancelToken()
    previous = install_stop_handlers(token)
    try:
        from .run_job import run_job  # torch loads here

        result = run_job(args.job_dir, callback=events, cancel=token, resume=args.resume,
                         started_at=events.started_at)
    except (JobError, DeviceError, ConfigError) as error:
        print(f"worker: {error}", file=sys.stderr, flush=True)
        events.error(error)
        return EXIT_INVALID
    except Exception as error:  # a crash: report it as data, keep the folder as it is
        traceback.print_exc(file=sys.stderr)
        events.error(error)
        return EXIT_FAILED
    finally:
        restore_handlers(previous)
    return EXIT_COMPLETE if result.complete else EXIT_STOPPED


def exit_now(code: int) -> None:
    """Flush and leave without the interpreter's teardown: with torch and numba loaded it takes
    about 1.4 s, which would eat most of the 2 s a signal may take to stop the worker. Every
    file the worker writes is closed (result.npz is written and renamed) before this."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
