"""The job folder, format v1: the contract between Blender (or the command line), which
writes it, and the worker process, which reads it and writes result.npz.

    job_folder/
      job.json     the job (schema: job.schema.json in this package; docs/job-format.md)
      asset.ply    the splats, INRIA layout, object-local
      rig.npz      control_points [P, 3], indices [N, K], weights [N, K], radius
      result.npz   written by the worker (engine/result.py)

    path = write_job(folder, job, splats, rig)
    loaded = load_job(folder)      # validated; JobError lists every problem with its path

numpy, plyfile and (for movies) PyAV only: no torch, no bpy.
"""

from .folder import LoadedJob, load_job, read_job, resolve, rig_problems, write_job
from .model import Job, JobAsset, JobFrame, JobMatte, JobOutputs, JobSettings, JobSource
from .schema import JOB_VERSION, READABLE_VERSIONS, SCHEMA_PATH, load_schema
from .validate import parse_job, validate_job

__all__ = ["Job", "JobAsset", "JobFrame", "JobMatte", "JobSource", "JobSettings",
           "JobOutputs", "LoadedJob", "write_job", "load_job", "read_job", "resolve",
           "rig_problems", "parse_job", "validate_job", "load_schema", "SCHEMA_PATH",
           "JOB_VERSION", "READABLE_VERSIONS"]
