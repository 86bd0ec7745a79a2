"""`spectralsplats eval`: a tiny sweep writes the records (JSON), the figure and the page's
own section; --from-json rebuilds them without tracking; bad settings exit with 2."""

from __future__ import annotations

import importlib.util
import json

import pytest

from spectralsplats_addon.cli import eval as eval_cli

ARGS = ["--assets", "articulated", "--frames", "2", "--size", "32", "--radii", "0", "1.5",
        "--directions", "1", "--models", "direct", "--iterations", "4", "--control-points",
        "8", "--set", "lr_control_points=0.02", "dssim_weight=0.1"]
PAGE = "# Results\n\nIntro.\n\n## Rigid shift experiment\n\nKeep this table.\n"


def spectralsplats(argv) -> int:
    """The command line as installed: through cli/main.py's subcommands where it exists."""
    if importlib.util.find_spec("spectralsplats_addon.cli.main") is not None:
        from spectralsplats_addon.cli.main import main

        return main(["eval", *argv])
    return eval_cli.main(argv)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    folder = tmp_path_factory.mktemp("eval")
    page = folder / "docs" / "results.md"
    page.parent.mkdir()
    page.write_text(PAGE)
    code = spectralsplats([*ARGS, "--out", str(folder / "out"), "--results", str(page)])
    return code, folder, page


def test_exit_code_and_json_records(sweep):
    code, folder, _ = sweep
    assert code == 0
    report = json.loads((folder / "out" / "shift_sequence.json").read_text())
    records = report["records"]
    assert [(r["radius"], r["model"], r["loss"]) for r in records] == [
        (0.0, "direct", "spectral"), (0.0, "direct", "pixel"),
        (1.5, "direct", "spectral"), (1.5, "direct", "pixel")]
    assert [r["overlap"] for r in records] == [1.0, 1.0, 0.0, 0.0]
    run = report["runs"][0]
    assert (run["asset"], run["frames"], run["size"], run["control_points"]) == (
        "articulated", 2, 32, 8)
    assert run["iterations_per_frame"] == 4
    assert run["overrides"] == {"lr_control_points": 0.02, "dssim_weight": 0.1}
    assert [(r["radius"], r["loss"], r["cases"]) for r in report["summary"]] == [
        (0.0, "spectral", 1), (0.0, "pixel", 1), (1.5, "spectral", 1), (1.5, "pixel", 1)]
    assert report["summary"][2]["train_psnr"] == pytest.approx(records[2]["train_psnr"])
    assert [(r["radius"], r["loss"]) for r in report["zero_overlap"]] == [
        (None, "spectral"), (None, "pixel")]
    [command] = report["commands"]
    assert command.startswith("spectralsplats eval --assets articulated --radii 0 1.5")
    assert "--set lr_control_points=0.02 dssim_weight=0.1" in command


def test_figure_has_a_train_and_a_novel_panel(sweep):
    import matplotlib.image as mpimg

    _, folder, page = sweep
    for path in (folder / "out" / "shift_sequence.png",
                 page.parent / "figures" / "shift_sequence.png"):
        image = mpimg.imread(path)
        assert image.shape[:2] == (360, 1000)        # one asset: 10 x 3.6 in at 100 dpi
        assert image[..., :3].std() > 0.05           # not a blank canvas


def test_page_section_replaced_and_the_rest_kept(sweep, tmp_path):
    _, folder, page = sweep
    text = page.read_text()
    assert text.startswith(PAGE.rstrip())
    assert text.count(eval_cli.SECTION_BEGIN) == 1 and text.count(eval_cli.SECTION_END) == 1
    assert text.index(eval_cli.SECTION_HEADING) < text.index(eval_cli.SECTION_BEGIN)
    section = text[text.index(eval_cli.SECTION_BEGIN):text.index(eval_cli.SECTION_END)]
    assert "| 1.5 | 1/1 | direct | spectral |" in section
    assert "![PSNR vs initial shift, train and novel views](figures/shift_sequence.png)" in section
    # rebuilt from the JSON alone: the same section, still once, nothing else touched
    page.write_text(text.replace("Keep this table.", "Keep this table, edited."))
    code = spectralsplats(["--from-json", str(folder / "out" / "shift_sequence.json"),
                           "--out", str(tmp_path), "--results", str(page)])
    again = page.read_text()
    assert code == 0 and "Keep this table, edited." in again
    assert again.count(eval_cli.SECTION_BEGIN) == 1
    rebuilt = again[again.index(eval_cli.SECTION_BEGIN):again.index(eval_cli.SECTION_END)]
    assert rebuilt[rebuilt.index("**articulated**"):] == section[section.index("**articulated**"):]
    assert "spectralsplats eval --from-json " in rebuilt
    merged = json.loads((tmp_path / "shift_sequence.json").read_text())
    assert merged["records"] == json.loads(
        (folder / "out" / "shift_sequence.json").read_text())["records"]


def test_bad_setting_exits_2_with_the_reason(tmp_path, capsys):
    code = spectralsplats(["--frames", "1", "--set", "lr_bogus=1", "--out", str(tmp_path)])
    assert code == 2
    assert "unknown tracking setting(s) lr_bogus" in capsys.readouterr().err
    assert not (tmp_path / "shift_sequence.json").exists()


def test_set_needs_field_equals_value(tmp_path, capsys):
    assert spectralsplats(["--set", "warmup", "--out", str(tmp_path)]) == 2
    assert "--set takes FIELD=VALUE pairs, got 'warmup'" in capsys.readouterr().err


def test_rewriting_the_section_before_keeps_the_markers(tmp_path):
    """scripts/eval_rigid_shift.py rewrites its `## Rigid shift experiment` section up to the
    next `## ` heading: that must not take the begin marker with it."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    from benchmarks_doc import write_section as write_heading_section

    page = tmp_path / "results.md"
    page.write_text(PAGE)
    eval_cli.write_section(page, "first body")
    write_heading_section("Rigid shift experiment", "New rigid table.", page)
    eval_cli.write_section(page, "second body")
    text = page.read_text()
    assert "New rigid table." in text and "Keep this table." not in text
    assert text.count(eval_cli.SECTION_BEGIN) == 1 and text.count(eval_cli.SECTION_HEADING) == 1
    assert "first body" not in text
    assert text.rstrip().endswith(f"{eval_cli.SECTION_BEGIN}\nsecond body\n{eval_cli.SECTION_END}")
