"""Build the Blender extension zip with Blender's own extension tool.

Stages blender_manifest.toml beside the spectralsplats_addon package (as the zip's root) with
the wheels the manifest names, then runs ``blender_ext.py build`` and ``validate`` from the
bl_pkg add-on that ships with Blender (found inside the bpy module, or given with --blender-ext).

    python scripts/build_extension.py [--output-dir dist] [--blender-ext PATH]

Prints the zip's path and size. Exits non-zero when the build or validation fails.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "spectralsplats_addon"
MANIFEST = ROOT / "blender_manifest.toml"


def find_blender_ext() -> Path:
    """The blender_ext.py command-line tool of the installed bpy module."""
    import importlib.util

    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("bpy is not installed: run `make env`, or pass --blender-ext PATH")
    hits = sorted(Path(spec.submodule_search_locations[0]).glob(
        "*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    if not hits:
        raise SystemExit("blender_ext.py not found inside the bpy module: pass --blender-ext PATH")
    return hits[-1]


def manifest_wheels() -> list[str]:
    """Wheel paths (relative, './wheels/NAME.whl') listed in the manifest."""
    return re.findall(r'"\./wheels/([^"]+\.whl)"', MANIFEST.read_text())


def fetch_wheels(names: list[str], dest: Path) -> None:
    """Downloads the named wheels (exact files) with pip into dest."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        dist, version = name.split("-")[:2]
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--only-binary=:all:", "-d", str(dest), f"{dist}=={version}"], check=True)
        if not (dest / name).exists():
            raise SystemExit(f"pip did not produce {name} in {dest}")


def stage(staging: Path) -> None:
    shutil.copytree(PACKAGE, staging, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy2(MANIFEST, staging / "blender_manifest.toml")
    fetch_wheels(manifest_wheels(), staging / "wheels")


def run_tool(tool: Path, *args: str) -> None:
    subprocess.run([sys.executable, str(tool), *args], check=True)


def build(output_dir: Path, tool: Path | None = None) -> Path:
    """Stages, builds and validates; returns the path of the zip."""
    tool = tool or find_blender_ext()
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="spectralsplats-stage-") as tmp:
        staging = Path(tmp) / "spectralsplats"
        stage(staging)
        run_tool(tool, "build", "--source-dir", str(staging), "--output-dir", str(output_dir))
    version = re.search(r'^version\s*=\s*"([^"]+)"', MANIFEST.read_text(), re.M).group(1)
    zip_path = output_dir / f"spectralsplats-{version}.zip"
    if not zip_path.exists():
        raise SystemExit(f"the build did not write {zip_path}")
    run_tool(tool, "validate", str(zip_path))
    return zip_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=ROOT / "dist")
    parser.add_argument("--blender-ext", type=Path, default=None,
                        help="path of Blender's blender_ext.py (default: the one in the bpy "
                             "module)")
    args = parser.parse_args(argv)
    zip_path = build(args.output_dir, args.blender_ext)
    print(f"built {zip_path} ({zip_path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
