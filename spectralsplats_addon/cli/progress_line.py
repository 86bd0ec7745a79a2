"""A progress line on stderr from the worker's events (docs/job-format.md, "The worker").

    line = ProgressLine()                 # stream=sys.stderr
    run_job(folder, callback=line)        # or: for each JSON line of a worker, line(event)

On a terminal one line is redrawn in place:

    [##########..........]  50%  frame 102 (2/3)  it 40/80 spectral  loss 0.0123  ETA 0:04

Elsewhere (a log file, a pipe) a line is written when a frame finishes, and for progress at
most every ``log_every`` seconds. started, finished and error always print a line.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ..engine.progress import format_seconds
from ..engine.vocabulary import EventKind

BAR_WIDTH = 20


def progress_text(event: dict) -> str:
    """The line for a progress event."""
    fraction = min(1.0, max(0.0, float(event.get("fraction", 0.0))))
    filled = int(round(fraction * BAR_WIDTH))
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    loss = event.get("losses", {}).get("total")
    loss_text = "" if loss is None else f"  loss {loss:.4g}"
    return (f"[{bar}] {fraction * 100:3.0f}%  frame {event['frame']} "
            f"({event['index'] + 1}/{event['count']})  it {event['iteration'] + 1}/"
            f"{event['iterations']} {event['phase']}{loss_text}  "
            f"ETA {format_seconds(event.get('eta_seconds'))}")


def event_text(event: dict) -> str | None:
    """The line for any other event; None for those that print nothing of their own."""
    kind = event.get("event")
    if kind == EventKind.STARTED:
        resumed = event.get("resumed_frames", 0)
        again = f", resuming after {resumed} finished frame{'s' if resumed != 1 else ''}" \
            if resumed else ""
        return (f"tracking {event['frames']} frames: model {event['model']}, loss "
                f"{event['loss']}, device {event['device']}{again}")
    if kind == EventKind.PLATE:
        text = (f"plate: the render goes over the {event['background'].replace('_', ' ')}, "
                f"colour transform {event['appearance']}")
        if event.get("estimate"):
            text += f"; {event['estimate']}"
        if event.get("warning"):
            text += f"\nwarning: {event['warning']}"
        return text
    if kind == EventKind.FRAME_FINISHED:
        psnr = event.get("psnr")
        psnr_text = "" if psnr is None else f", PSNR {psnr:.2f} dB"
        loss = event.get("loss")
        loss_text = "" if loss is None else f"loss {loss:.4g}"
        return f"frame {event['frame']} ({event['index'] + 1}/{event['count']}): {loss_text}" \
               f"{psnr_text}"
    if kind == EventKind.FINISHED:
        state = "complete" if event.get("complete") else "stopped, partial result"
        return (f"{state}: {event['frames_done']} frames in "
                f"{format_seconds(event.get('seconds'))} -> {event['result']}")
    if kind == EventKind.ERROR:
        return f"error ({event.get('kind', 'Error')}): {event.get('message', '')}"
    return None


class ProgressLine:
    """Callable on worker events; draws the progress line on ``stream``."""

    def __init__(self, stream: TextIO | None = None, log_every: float = 5.0):
        self.stream = stream if stream is not None else sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.log_every = log_every
        self._drawn = 0          # characters of the line now on screen (terminal)
        self._logged_at = -1e9

    def __call__(self, event: dict) -> None:
        if event.get("event") == EventKind.PROGRESS:
            self._progress(progress_text(event))
            return
        text = event_text(event)
        if text is not None:
            self._print(text)

    def _progress(self, text: str) -> None:
        if self.live:
            pad = " " * max(0, self._drawn - len(text))
            self.stream.write("\r" + text + pad)
            self.stream.flush()
            self._drawn = len(text)
        elif time.monotonic() - self._logged_at >= self.log_every:
            self._logged_at = time.monotonic()
            self._print(text)

    def _print(self, text: str) -> None:
        if self.live and self._drawn:
            self.stream.write("\r" + " " * self._drawn + "\r")
            self._drawn = 0
        self.stream.write(text + "\n")
        self.stream.flush()


__all__ = ["ProgressLine", "progress_text", "event_text", "format_seconds"]
