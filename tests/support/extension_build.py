"""The extension's build script, loaded as a module (scripts/ is not a package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load_build_script() -> ModuleType:
    """scripts/build_extension.py as a module: its build function and its file lists."""
    spec = importlib.util.spec_from_file_location("build_extension",
                                                  ROOT / "scripts" / "build_extension.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
