"""One shot as one farm task: run the worker on its job folder, keep its events, and turn its
exit code into what a farm engine acts on.

    outcome = track_shot("shots/shot_010")   # ShotOutcome, or raises ShotInvalid / ShotInterrupted

- exit 0: the shot is complete (ShotOutcome);
- exit 2 (an invalid job, an absent device): ShotInvalid with the worker's message; running
  it again cannot help, so the engine is told not to retry it;
- exit 3 (tracking failed), 4 (stopped) or a kill by a signal: ShotInterrupted; the engine
  retries it, and the worker resumes from the partial result.npz (the frames saved so far).
  So is exit 2 for job.lock alone (another worker still holds the job: an earlier attempt
  saving its partial result), which a later attempt gets past.

The worker's events (JSON lines) are appended to ``farm.log`` in the job folder, after one
``attempt`` line per run (host, process, time); the last run's stderr is ``worker.log``.
Each write is a whole line, so a killed attempt leaves whole lines; neither file is written
through a link (engine/atomic.py). On Linux the worker gets SIGTERM if the
task's process dies (it then saves its partial result), so a retry never meets a second
worker still running on the same folder.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..engine.atomic import open_new
from ..engine.errors import SpectralSplatsError
from ..engine.vocabulary import EventKind, ExitCode
from ..engine.worker.output import LOCK_FILE

EVENTS_LOG = "farm.log"
ATTEMPT = "attempt"  # farm.log's line before each run's worker events
WORKER_LOG = "worker.log"  # blender/worker_process.LOG_FILE: the worker's stderr, as there


@dataclass
class ShotOutcome:
    """What one finished task reports: the shot's folder and result, frames tracked, frames
    taken over from an earlier attempt (``resumed_frames``), the worker's seconds."""

    folder: str
    result: str
    frames_done: int
    resumed_frames: int
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


class ShotInvalid(SpectralSplatsError, ValueError):
    """The shot's job is invalid (worker exit 2): not retried. The message is the worker's."""

    def __init__(self, folder: str, message: str):
        self.folder, self.message = folder, message
        super().__init__(f"{folder}: bad input, not retried: {message}")

    def __reduce__(self):  # crosses process boundaries (a farm engine pickles it)
        return (type(self), (self.folder, self.message))


class ShotInterrupted(SpectralSplatsError, RuntimeError):
    """The worker stopped before the shot was complete (exit 3, 4 or killed): retried; the
    next attempt resumes from the frames saved."""

    def __init__(self, folder: str, message: str):
        self.folder, self.message = folder, message
        super().__init__(f"{folder}: {message}")

    def __reduce__(self):
        return (type(self), (self.folder, self.message))


def worker_command(python: str, folder: Path) -> list[str]:
    """The worker's command line (docs/job-format.md, "The worker"); resumes by default."""
    return [python, "-m", "spectralsplats_addon.engine.worker", str(folder)]


def open_log(path: Path):
    """``path`` opened to append text, created if absent; a link there is not followed."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    return os.fdopen(os.open(path, flags, 0o644), "a", encoding="utf-8")


def _die_with_parent() -> None:  # runs in the child before exec (Linux only)
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))


def track_shot(folder, python: str | None = None) -> ShotOutcome:
    """Track the job folder ``folder`` with the worker (module docstring); ``python`` runs
    the worker (default: this interpreter)."""
    folder = Path(folder).resolve()
    command = worker_command(python or sys.executable, folder)
    last: dict = {}
    started: dict = {}
    with open_log(folder / EVENTS_LOG) as events, open_new(folder / WORKER_LOG) as errors:
        events.write(json.dumps({"event": ATTEMPT, "host": socket.gethostname(),
                                 "pid": os.getpid(), "utc": time.time()}) + "\n")
        events.flush()
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL,
            text=True, preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        for line in process.stdout:
            events.write(line if line.endswith("\n") else line + "\n")
            events.flush()
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            last = event
            if event.get("event") == EventKind.STARTED:
                started = event
        code = process.wait()
    if code == ExitCode.COMPLETE and last.get("event") == EventKind.FINISHED \
            and last.get("complete"):
        return ShotOutcome(folder=str(folder), result=last["result"],
                           frames_done=int(last["frames_done"]),
                           resumed_frames=int(started.get("resumed_frames", 0)),
                           seconds=float(last["seconds"]))
    message = last.get("message") if last.get("event") == EventKind.ERROR else None
    lock_only = [path for path, _ in last.get("problems") or []] == [LOCK_FILE]
    if code == ExitCode.INVALID and not lock_only:
        raise ShotInvalid(str(folder), message or f"the worker exited {code} (see {WORKER_LOG})")
    why = f"killed by signal {-code}" if code < 0 else f"the worker exited {code}"
    raise ShotInterrupted(str(folder), f"{why}{': ' + message if message else ''}; a retry "
                                       "resumes from the frames saved in its result")
