"""The tracking worker as a child process: start it, read its events, stop it.

    worker = WorkerProcess.start(python, job_folder)
    events = worker.poll()           # [event dicts], never blocks (the main thread calls it)
    worker.cancel()                  # SIGTERM, then a kill after a timeout
    worker.returncode                # None while it runs

The worker (``engine/worker/main.py``, docs/job-format.md) writes one JSON event per line on
stdout; its stderr goes to ``worker.log`` in the job folder. A reader thread only parses
lines and puts dicts on a queue: it never touches bpy.

The command loads this extension's package under the name ``spectralsplats_addon`` from its
folder, whatever Blender named it (``bl_ext.user_default.spectralsplats`` once installed),
and runs ``spectralsplats_addon.engine.worker`` as ``__main__``: the same worker from the
source tree and from an installed extension.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from pathlib import Path

from ..engine.errors import WorkerError
from ..engine.atomic import open_new
from ..engine.vocabulary import EventKind

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the folder holding blender/ and engine/
LOG_FILE = "worker.log"

# Run with: python -c BOOTSTRAP PACKAGE_DIR JOB_DIR [worker arguments...]
BOOTSTRAP = """\
import importlib.util, runpy, sys
folder = sys.argv[1]
spec = importlib.util.spec_from_file_location(
    "spectralsplats_addon", folder + "/__init__.py", submodule_search_locations=[folder])
package = importlib.util.module_from_spec(spec)
sys.modules["spectralsplats_addon"] = package
spec.loader.exec_module(package)
sys.argv = ["worker"] + sys.argv[2:]
runpy.run_module("spectralsplats_addon.engine.worker", run_name="__main__", alter_sys=True)
"""

_torch_checks: dict[str, str | None] = {}  # interpreter -> None (torch imports) or the problem


def worker_command(python: str, job_folder, *args: str) -> list[str]:
    """The command line that runs the worker on job_folder with interpreter python."""
    return [python, "-c", BOOTSTRAP, str(PACKAGE_DIR), str(job_folder), *args]


def torch_problem(python: str, timeout: float = 120.0) -> str | None:
    """None if ``python -c "import torch"`` succeeds, else what went wrong (cached per
    interpreter: the check runs once per Blender session)."""
    if python not in _torch_checks:
        try:
            done = subprocess.run([python, "-c", "import torch"], capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as error:
            _torch_checks[python] = f"it cannot be run ({error})"
        else:
            lines = done.stderr.strip().splitlines()
            _torch_checks[python] = None if done.returncode == 0 else \
                f"it cannot import torch ({lines[-1] if lines else f'exit code {done.returncode}'})"
    return _torch_checks[python]


def check_tracker_python(python: str) -> str:
    """python itself if it can import torch; else raises WorkerError saying what to do."""
    problem = torch_problem(python)
    if problem is not None:
        raise WorkerError(f"the tracker interpreter {python} is not usable: {problem}. Set up the "
                          "tracker environment (Edit > Preferences > Add-ons > SpectralSplats > "
                          "Set up Tracker Environment), or name a Python with torch there")
    return python


class WorkerProcess:
    """A running worker: ``poll()`` drains its events, ``cancel()`` stops it."""

    def __init__(self, process: subprocess.Popen, job_folder: Path, log) -> None:
        self.process = process
        self.job_folder = Path(job_folder)
        self._log = log
        self._events: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="spectralsplats-worker-events",
                                        daemon=True)
        self._reader.start()

    @classmethod
    def start(cls, python: str, job_folder, *args: str) -> "WorkerProcess":
        """Starts the worker on job_folder (events on a pipe, stderr in job_folder/worker.log)."""
        job_folder = Path(job_folder)
        log = open_new(job_folder / LOG_FILE)  # a link there is replaced, not followed
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        try:
            process = subprocess.Popen(worker_command(python, job_folder, *args),
                                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=log, env=env, cwd=str(job_folder))
        except OSError as error:
            log.close()
            raise WorkerError(f"could not start the tracker with {python} ({error}): check the "
                              "Tracker Python in the extension's preferences") from error
        return cls(process, job_folder, log)

    def _read(self) -> None:
        """Reader thread: each stdout line -> a dict on the queue (nothing else)."""
        for raw in self.process.stdout:
            line = raw.decode("utf-8", errors="replace").strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                event = None
            if not isinstance(event, dict) or "event" not in event:
                event = {"event": EventKind.OUTPUT, "text": line}
            self._events.put(event)
        self.process.stdout.close()

    def poll(self) -> list[dict]:
        """Every event received since the last call, oldest first; never blocks."""
        events = []
        while True:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                return events

    @property
    def returncode(self) -> int | None:
        """The exit code, None while the worker runs."""
        return self.process.poll()

    @property
    def done(self) -> bool:
        """The worker has exited and every event it wrote has been read and drained."""
        if self.process.poll() is None or self._reader.is_alive():
            return False
        if self._events.empty():
            self._log.close()
            return True
        return False

    def cancel(self, timeout: float = 3.0) -> int:
        """Asks the worker to stop (SIGTERM; it writes its partial result and exits), kills it
        if it has not exited after timeout seconds; returns its exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout)
        self._log.close()
        return self.process.returncode

    def log_tail(self, lines: int = 5) -> str:
        """The last lines of worker.log (the worker's messages and tracebacks)."""
        try:
            text = (self.job_folder / LOG_FILE).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])


__all__ = ["WorkerProcess", "worker_command", "check_tracker_python", "torch_problem",
           "BOOTSTRAP", "LOG_FILE"]

