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
    blender = {"bpy", "mathutils", "bpy_extras"}
    offenders = {str(p.relative_to(PACKAGE)): imported_modules(p) & blender
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
    loaded = modules_loaded_after("import bpy, spectralsplats_addon; "
                                  "spectralsplats_addon.register()")
    assert "bpy" in loaded
    assert not loaded & {"torch", "gsplat"}


def imports_in_package(path: Path, text: str | None = None) -> list[tuple[str, str | None]]:
    """(module, name) for every ``from X import name`` in a file of the package (or ``text``
    read as that file), X resolved to its dotted path under the package
    (``engine.render.api``); name None for ``import X``. Other modules are left out."""
    package = list(path.relative_to(PACKAGE).parent.parts)
    found = []
    source = path.read_text() if text is None else text
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name.split(".", 1)[1], None) for a in node.names
                      if a.name.startswith(PACKAGE.name + ".")]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if not (node.module or "").startswith(PACKAGE.name + "."):
                    continue
                base = node.module.split(".")[1:]
            else:
                base = package[:len(package) - node.level + 1] + (node.module or "").split(".")
            module = ".".join(p for p in base if p)
            found += [(module, a.name) for a in node.names]
    return found


def full_name(module: str, name: str | None) -> str:
    """The dotted module or module.name an import reaches: ``from . import x`` -> 'pkg.x'."""
    return module if name is None else f"{module}.{name}" if module else name


def test_the_lab_is_imported_only_by_the_command_line():
    """Experiments, examples, report writers and fixtures (lab/) stay out of the product:
    neither the Blender layer nor the engine (the worker's whole path) imports them."""
    offenders, seen_from_cli = {}, set()
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE).parts[0]
        hits = {full_name(m, n) for m, n in imports_in_package(path)
                if full_name(m, n).split(".")[0] == "lab"}
        if where == "cli":
            seen_from_cli |= hits
        elif where not in ("lab",) and hits:
            offenders[str(path.relative_to(PACKAGE))] = sorted(hits)
    assert seen_from_cli, "the check sees no lab import at all: cli/example.py makes one"
    assert not offenders


def private_imports_across_packages(path: Path, root: Path, text: str | None = None
                                    ) -> list[str]:
    """``_private`` modules and names that a file (or ``text`` read as that file) imports
    from another package (folder)."""
    if root == PACKAGE:
        here = ".".join(path.relative_to(PACKAGE).parent.parts)
        imports = imports_in_package(path, text)
    else:  # a script: every import of the package comes from outside it
        here = None
        imports = [(m.split(".", 1)[1], a.name) for node in ast.walk(ast.parse(path.read_text()))
                   if isinstance(node, ast.ImportFrom) and node.level == 0
                   and (m := node.module or "").startswith(PACKAGE.name + ".")
                   for a in node.names]
    found = []
    for module, name in imports:
        target = full_name(module, name).split(".")
        for i, part in enumerate(target):
            if part.startswith("_") and not part.startswith("__"):
                owner = target[:i] if PACKAGE.joinpath(*target[:i]).is_dir() else target[:i - 1]
                if ".".join(owner) != here:  # a private name's folder: its module's folder
                    found.append(".".join(target[:i + 1]))
                break
    return found


def test_no_private_module_or_name_is_imported_across_packages():
    """A ``_name`` is its folder's own: other packages (and scripts/) use a public owner."""
    scripts = PACKAGE.parent / "scripts"
    offenders = {}
    for root in (PACKAGE, scripts):
        for path in sorted(root.rglob("*.py")):
            hits = private_imports_across_packages(path, root)
            if hits:
                offenders[str(path.relative_to(root.parent))] = hits
    assert not offenders


def test_the_private_import_check_tells_a_crossing_from_a_neighbour():
    """The check above flags a private module or name of another folder, not of its own."""
    probe = PACKAGE / "engine" / "track" / "probe.py"  # read from the text below, never written
    text = ("from ..render._numba_projection_kernels import project\n"
            "from ..render.api import _resolve\n"
            "from . import _helpers\n"
            "from .step import _stack\n")
    assert private_imports_across_packages(probe, PACKAGE, text) == [
        "engine.render._numba_projection_kernels", "engine.render.api._resolve"]


def test_no_test_module_imports_another():
    """Helpers the tests share live in tests/support/, not in a test module."""
    tests = PACKAGE.parent / "tests"
    offenders = {}
    for path in sorted(tests.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            hits = [n for n in names if n.split(".")[-1].startswith(("test_", "conftest"))]
            if hits:
                offenders.setdefault(str(path.relative_to(tests)), []).extend(hits)
    assert not offenders
