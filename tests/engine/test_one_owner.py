"""One owner per idea: the rotation maths live in engine/geometry.py and posing splats by a
rig in one function, deform/skinning.pose_splats, which the tracker and the renderers share."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import torch

from spectralsplats_addon.engine.deform.skinning import RigTensors, pose_splats
from spectralsplats_addon.engine.geometry import __all__ as GEOMETRY
from spectralsplats_addon.lab.examples import known_motion

ROOT = Path(__file__).resolve().parents[2]
OWNED = {name: "spectralsplats_addon/engine/geometry.py" for name in GEOMETRY} | {
    "pose_splats": "spectralsplats_addon/engine/deform/skinning.py",
    "posed_splats": None, "matrix_quaternion": None, "format_seconds":
    "spectralsplats_addon/engine/progress.py"}


def definitions() -> dict[str, list[str]]:
    """Function names defined anywhere in the package, scripts and tests -> their files."""
    found: dict[str, list[str]] = {}
    for folder in ("spectralsplats_addon", "scripts", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found.setdefault(node.name, []).append(path.relative_to(ROOT).as_posix())
    return found


def test_each_owned_function_is_defined_once_in_its_owner():
    found = definitions()
    wrong = {name: found.get(name, []) for name, owner in OWNED.items()
             if name.isidentifier() and name.islower()
             and found.get(name, []) != ([owner] if owner else [])}
    assert not wrong


def test_pose_splats_compiled_matches_the_torch_skinning():
    motion = known_motion("articulated", num_frames=6, size=32, num_control_points=12)
    splats = motion.splats.to_torch()
    rig = RigTensors.of(motion.rig, splats.means)
    plain = pose_splats(splats, motion.rig, motion.rotations[4], motion.translations[4])
    compiled = pose_splats(splats, rig, torch.as_tensor(motion.rotations[4]),
                           torch.as_tensor(motion.translations[4]), compiled=True)
    np.testing.assert_allclose(compiled.means.numpy(), plain.means.numpy(), atol=1e-5)
    np.testing.assert_allclose(compiled.quats.numpy(), plain.quats.numpy(), atol=1e-5)
    assert not np.allclose(plain.means.numpy(), splats.means.numpy(), atol=1e-3)
