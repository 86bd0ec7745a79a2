"""The worker process: ``python -m spectralsplats_addon.engine.worker JOB_DIR`` (main)
runs one job folder (run_job)."""
