"""Shots on a Ray cluster: one task per shot, Ray's own retries.

    outcomes = run_batch(folders, address=None, retries=2)   # a local cluster by default

Each shot is one task (``track_shot``) needing ``cpus_per_shot`` of the cluster's CPUs.
Ray retries a task whose process dies (``max_retries``) and one that raises ShotInterrupted
(``retry_exceptions``): the worker resumes from the partial result. ShotInvalid (exit 2) is
not in that list, so a shot with bad input runs once and its message comes back.
A shot is never split into frame chunks: the deforming models start each frame from the
previous one's fit, so a shot's frames run in order (docs/farm.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .shot_task import ShotInterrupted, ShotInvalid, ShotOutcome, track_shot


@dataclass
class ShotFailure:
    """A shot that did not complete: ``retried`` False for bad input (exit 2)."""

    folder: str
    message: str
    retried: bool

    def to_dict(self) -> dict:
        return {"folder": self.folder, "message": self.message, "retried": self.retried}


def _track(folder: str, python: str | None) -> dict:
    return track_shot(folder, python).to_dict()


def run_batch(folders: list[Path], address: str | None = None, retries: int = 2,
              cpus_per_shot: float = 1.0, local_cpus: int | None = None,
              python: str | None = None,
              on_done: Callable[[ShotOutcome | ShotFailure], None] | None = None,
              ) -> list[ShotOutcome | ShotFailure]:
    """Track every job folder as one Ray task; returns one outcome per folder, in order.

    address: a running cluster ("auto", "ray://head:10001"); None starts a local one with
    ``local_cpus`` CPUs (default: this machine's). ``on_done`` is called as each shot ends.
    """
    import ray

    if retries < 0:
        raise ValueError(f"retries must be 0 or more, got {retries}")
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, num_cpus=local_cpus if address is None else None,
                 include_dashboard=False, log_to_driver=False)
    try:
        task = ray.remote(_track).options(num_cpus=cpus_per_shot, max_retries=retries,
                                          retry_exceptions=[ShotInterrupted])
        pending = {task.remote(str(folder), python): i for i, folder in enumerate(folders)}
        outcomes: list = [None] * len(folders)
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            i = pending.pop(ref)
            outcomes[i] = _outcome(ray, ref, str(folders[i]))
            if on_done is not None:
                on_done(outcomes[i])
        return outcomes
    finally:
        if started_here:
            ray.shutdown()


def _outcome(ray, ref, folder: str) -> ShotOutcome | ShotFailure:
    try:
        return ShotOutcome(**ray.get(ref))
    except ShotInvalid as error:
        return ShotFailure(folder, error.message, retried=False)
    except ShotInterrupted as error:
        return ShotFailure(folder, f"{error.message} (retries used up)", retried=True)
    except ray.exceptions.RayError as error:  # the task's process died every time
        return ShotFailure(folder, f"{type(error).__name__}: {error}", retried=True)
