"""What a Python interpreter offers the tracker: run as a script, prints one JSON object.

    python -m spectralsplats_addon.engine.environment

The Blender layer runs this file as a script (``check_interpreter``) with the interpreter named
in the preferences, so Blender learns about torch, CUDA and gsplat without importing any of them.
gsplat is looked up, not imported (importing it can start a CUDA build).
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from importlib import metadata

PACKAGES = ("torch", "gsplat", "numba", "numpy", "av", "plyfile", "Pillow")

# What "Set up tracker environment" installs: torch first (a pinned CPU/CUDA build the
# platform's index serves), then the engine's pinned dependencies. Kept equal to
# pyproject.toml's by tests/engine/test_environment.py.
TORCH_REQUIREMENT = "torch==2.13.0"
TRACKER_REQUIREMENTS = ("numpy>=1.24,<2", "plyfile==1.1.3", "av==18.1.0", "Pillow==11.3.0",
                        "matplotlib==3.10.7", "numba==0.61.2")
GSPLAT_REQUIREMENTS = ("gsplat==1.5.3", "packaging")  # CUDA platforms only


def env_python(env_dir: str) -> str:
    """The interpreter of a virtual environment folder."""
    import os

    sub = ("Scripts", "python.exe") if os.name == "nt" else ("bin", "python")
    return os.path.join(env_dir, *sub)


def setup_steps(env_dir: str, base_python: str, with_gsplat: bool) -> list[list[str]]:
    """The commands that create the tracker environment in env_dir, in order."""
    py = env_python(env_dir)
    steps = [[base_python, "-m", "venv", env_dir],
             [py, "-m", "pip", "install", "--upgrade", "pip"],
             [py, "-m", "pip", "install", TORCH_REQUIREMENT],
             [py, "-m", "pip", "install", *TRACKER_REQUIREMENTS]]
    if with_gsplat:
        steps.append([py, "-m", "pip", "install", *GSPLAT_REQUIREMENTS])
    return steps


def describe() -> dict:
    """Versions of the engine's packages and the devices torch can use."""
    info = {"python": platform.python_version(), "executable": sys.executable, "packages": {}}
    for name in PACKAGES:
        try:
            info["packages"][name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            info["packages"][name] = None
    info["cuda"] = info["mps"] = False
    info["cuda_device"] = None
    try:
        import torch
    except ImportError as error:
        info["torch_error"] = str(error)
        return info
    info["cuda"] = bool(torch.cuda.is_available())
    if info["cuda"]:
        info["cuda_device"] = torch.cuda.get_device_name(0)
    info["mps"] = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    return info


def summary(info: dict) -> str:
    """One line for a status bar: what is there and what is missing."""
    pkgs = info.get("packages", {})
    if not pkgs.get("torch"):
        return (f"Python {info.get('python')}: torch is not installed; use Set up tracker "
                "environment, or name an interpreter that has it")
    devices = ["CPU"] + (["CUDA " + (info.get("cuda_device") or "")] if info.get("cuda") else []) \
        + (["MPS"] if info.get("mps") else [])
    gsplat = pkgs.get("gsplat") or "not installed"
    return (f"Python {info['python']}, torch {pkgs['torch']}, gsplat {gsplat}; "
            f"devices: {', '.join(d.strip() for d in devices)}")


def check_interpreter(python: str, timeout: float = 120.0) -> dict:
    """Runs describe() in another interpreter; raises WorkerError with its output if it fails."""
    from .errors import WorkerError  # here, not at the top: this file also runs as a script

    try:  # this file is stdlib-only at the top: it runs as a plain script in any Python
        done = subprocess.run([python, __file__], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise WorkerError(f"could not run the tracker interpreter {python!r}: {error}; set it in "
                          "the extension's preferences") from error
    if done.returncode != 0:
        stderr = done.stderr.strip()
        raise WorkerError(f"the tracker interpreter {python!r} failed: "
                          f"{stderr.splitlines()[-1] if stderr else done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(describe()))
