"""``python -m spectralsplats_addon.engine.worker JOB_DIR``: runs the worker (worker/main.py)."""

from .main import exit_now, main

exit_now(main())
