"""The layering rules of the package, checked statically and in fresh processes."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "spectralsplats_addon"


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module a source file imports (anywhere in the file)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def modules_loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(m.split('.')[0] for m in sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return set(done.stdout.split())


def test_nothing_under_blender_imports_torch_or_gsplat():
    offenders = {str(p.relative_to(PACKAGE)): imported_modules(p) & {"torch", "gsplat"}
                 for p in (PACKAGE / "blender").rglob("*.py")}
    assert not {k: v for k, v in offenders.items() if v}


def test_nothing_under_engine_imports_bpy():
    offenders = {str(p.relative_to(PACKAGE)): imported_modules(p) & {"bpy", "mathutils", "bpy_extras"}
                 for p in (PACKAGE / "engine").rglob("*.py")}
    assert not {k: v for k, v in offenders.items() if v}


def test_importing_the_engine_loads_neither_bpy_nor_gsplat():
    loaded = modules_loaded_after("import spectralsplats_addon.engine")
    assert not loaded & {"bpy", "gsplat"}


def test_importing_the_package_loads_neither_bpy_nor_torch():
    """The worker imports the package in any Python: register() alone pulls in Blender."""
    loaded = modules_loaded_after("import spectralsplats_addon")
    assert not loaded & {"bpy", "torch", "gsplat"}


@pytest.mark.bpy
def test_registering_in_blender_never_loads_torch():
    loaded = modules_loaded_after("import bpy, spectralsplats_addon; spectralsplats_addon.register()")
    assert "bpy" in loaded
    assert not loaded & {"torch", "gsplat"}
