"""Many shots on a farm: each shot a job folder that the worker tracks on its own, run as one
task of a Ray cluster (a local one by default) with Ray's own retries (docs/farm.md).

    folders = find_shots(["shots/"])               # job folders, a folder of them, a list
    outcomes = run_batch(folders, retries=2)       # [ShotOutcome], one per shot

bpy-free and torch-free: torch loads only in the worker processes the tasks start.
"""

from .shots import ShotListError, find_shots, read_shot_list, write_shot_list
from .shot_task import ShotInterrupted, ShotInvalid, ShotOutcome, track_shot

__all__ = ["find_shots", "read_shot_list", "write_shot_list", "ShotListError", "track_shot",
           "ShotOutcome", "ShotInvalid", "ShotInterrupted", "run_batch"]


def run_batch(*args, **kwargs):
    """``farm.ray_batch.run_batch`` (imports Ray on first use)."""
    from .ray_batch import run_batch as run

    return run(*args, **kwargs)
