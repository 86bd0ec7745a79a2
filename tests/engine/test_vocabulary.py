"""Each vocabulary (models, losses, presets, devices, event kinds, exit codes) is defined
once, in engine/vocabulary.py, and the job schema, the CLI and the worker take it from there."""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

from spectralsplats_addon.cli import eval as eval_command
from spectralsplats_addon.cli import track as track_command
from spectralsplats_addon.engine import config, vocabulary
from spectralsplats_addon.engine.job.schema import JOB_FIELDS, SCHEMA_PATH
from spectralsplats_addon.engine.vocabulary import (CONTROL_POINT_MODELS, DEVICES, LOSSES,
                                                    MODELS, PRESETS, EventKind, ExitCode)
from spectralsplats_addon.engine.worker import main as worker

PACKAGE = Path(__file__).resolve().parents[2] / "spectralsplats_addon"
VOCABULARIES = {"models": MODELS, "losses": LOSSES, "presets": PRESETS, "devices": DEVICES}
OWNERS = {"presets": "engine/config.py"}  # the presets' settings; vocabulary.PRESETS names them


def choices(add_arguments) -> dict[str, tuple]:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return {action.option_strings[0]: tuple(action.choices) for action in parser._actions
            if action.choices is not None}


def test_the_job_schema_takes_its_enums_from_the_vocabulary():
    settings = JOB_FIELDS.fields["settings"].kind.fields
    assert settings["model"].kind.enum == MODELS
    assert settings["loss"].kind.enum == LOSSES
    assert set(settings["preset"].kind.enum) == set(PRESETS) == set(config.PRESETS)
    assert settings["device"].kind.enum == DEVICES
    published = json.loads(SCHEMA_PATH.read_text())["properties"]["settings"]["properties"]
    assert {name: set(published[name]["enum"]) for name in ("model", "loss", "preset", "device")} \
        == {"model": set(MODELS), "loss": set(LOSSES), "preset": set(PRESETS),
            "device": set(DEVICES)}


def test_the_command_line_choices_come_from_the_vocabulary():
    track = choices(track_command.add_arguments)
    assert track["--model"] == MODELS and track["--loss"] == LOSSES
    assert track["--preset"] == PRESETS and track["--device"] == DEVICES
    evaluation = choices(eval_command.add_arguments)
    assert evaluation["--models"] == CONTROL_POINT_MODELS and evaluation["--losses"] == LOSSES


def test_every_name_has_a_label_and_the_worker_uses_the_exit_codes():
    for names, text in ((MODELS, vocabulary.MODEL_TEXT), (LOSSES, vocabulary.LOSS_TEXT),
                        (PRESETS, vocabulary.PRESET_TEXT), (DEVICES, vocabulary.DEVICE_TEXT)):
        assert set(text) == set(names)
    assert (worker.EXIT_COMPLETE, worker.EXIT_INVALID, worker.EXIT_FAILED,
            worker.EXIT_STOPPED) == (ExitCode.COMPLETE, ExitCode.INVALID, ExitCode.FAILED,
                                     ExitCode.STOPPED) == (0, 2, 3, 4)
    assert json.dumps({"event": EventKind.FRAME_FINISHED}) == '{"event": "frame_finished"}'


def literal_copies(path: Path) -> list[str]:
    """String tuples, lists and sets in ``path`` whose two or more names all belong to one
    vocabulary (a typing ``Literal[...]`` aside), and dicts keyed by such names."""
    tree = ast.parse(path.read_text(), filename=str(path))
    literal_slices = {id(node.slice) for node in ast.walk(tree)
                      if isinstance(node, ast.Subscript) and getattr(node.value, "id", "")
                      == "Literal"}
    found, where = [], path.relative_to(PACKAGE).as_posix()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and id(node) not in literal_slices:
            items = node.elts
        elif isinstance(node, ast.Dict):
            items = [key for key in node.keys if key is not None]
        else:
            continue
        if len(items) < 2 or not all(isinstance(e, ast.Constant) and isinstance(e.value, str)
                                     for e in items):
            continue
        names = {e.value for e in items}
        for vocabulary_name, words in VOCABULARIES.items():
            if names <= set(words) and OWNERS.get(vocabulary_name) != where:
                found.append(f"{where}:{node.lineno} {vocabulary_name} "
                             f"{sorted(names)}")
    return found


def test_no_module_but_the_vocabulary_spells_out_a_list_of_its_names():
    found = [copy for path in sorted(PACKAGE.rglob("*.py"))
             if path.name != "vocabulary.py" for copy in literal_copies(path)]
    assert not found, "\n".join(found)


def test_the_literal_check_finds_a_copy(tmp_path):
    probe = PACKAGE / "cli" / "_vocabulary_probe.py"
    probe.write_text('MODELS = ("rigid", "direct", "mlp")\nOK = Literal["spectral", "pixel"]\n'
                     'DEVICE = {"cpu": 1, "cuda": 2}\n')
    try:
        found = literal_copies(probe)
    finally:
        probe.unlink()
    assert [line.split(" ", 2)[1] for line in found] == ["models", "devices"]
