"""`python -m spectralsplats_addon`: the same command line as `spectralsplats`."""

import sys

from .cli.main import main

sys.exit(main())
