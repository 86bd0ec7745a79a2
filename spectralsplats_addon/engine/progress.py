"""Progress events and cancellation, shared by every tracker (torch-free).

A tracker calls ``callback(event)`` with a plain dict (JSON-ready, so a worker process can
print it as one line):

    {"frame": 0, "iteration": 41, "iterations": 150, "phase": "spectral",
     "losses": {"total": 0.013, ...}, "eta_seconds": 2.7}

``iteration`` counts from 0 within the frame; ``eta_seconds`` is the time left for the whole
job (every frame), from the mean time per step so far. Between steps the tracker checks a
``CancelToken``; ``cancel()`` may be called from another thread (a UI timer, a signal
handler), and the tracker stops before its next step and returns what it has.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

ProgressCallback = Callable[[dict], None]


def format_seconds(seconds, clock: bool = True) -> str:
    """A duration for people. clock: 0:04, 12:30, 1:02:03, and "?" when unknown (None, NaN
    or negative); words (clock=False): 12 s, 3 min 05 s, 1 h 02 min."""
    if not clock:
        seconds = max(0, int(round(seconds)))
        if seconds < 60:
            return f"{seconds} s"
        if seconds < 3600:
            return f"{seconds // 60} min {seconds % 60:02d} s"
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds is None or seconds != seconds or seconds < 0:
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class CancelToken:
    """A flag a tracker polls between steps; thread-safe.

        >>> token = CancelToken()
        >>> token.cancel(); token.cancelled
        True
    """

    def __init__(self):
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the tracker to stop before its next step."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def __repr__(self) -> str:
        return f"CancelToken(cancelled={self.cancelled})"


class EtaClock:
    """Time left = (mean seconds per step so far) * (steps left), over a job of total steps."""

    def __init__(self, total_steps: int, clock: Callable[[], float] = time.perf_counter):
        self.total_steps = max(0, int(total_steps))
        self._clock = clock
        self._start = clock()
        self.done = 0

    def step(self, count: int = 1) -> float:
        """Records finished steps; returns the estimated seconds left (0 when all are done)."""
        self.done += count
        left = max(0, self.total_steps - self.done)
        if self.done <= 0:
            return float("nan")
        return (self._clock() - self._start) / self.done * left


def progress_event(frame: int, iteration: int, iterations: int, phase: str, losses: dict,
                   eta_seconds: float) -> dict:
    """The event dict every tracker sends (module docstring); losses: name -> float."""
    return {"frame": int(frame), "iteration": int(iteration), "iterations": int(iterations),
            "phase": str(phase), "losses": {k: float(v) for k, v in losses.items()},
            "eta_seconds": float(eta_seconds)}


def is_cancelled(token: CancelToken | None) -> bool:
    """True when a token was given and cancelled."""
    return token is not None and token.cancelled


__all__ = ["ProgressCallback", "CancelToken", "EtaClock", "progress_event", "is_cancelled"]
