"""Does openjd-cli's local runner (`openjd run`) run a job's steps and tasks at once?

Writes an Open Job Description template of two steps (one of two tasks, one of one), each
task logging its start and end around a 2-second sleep, runs it with `openjd run`, and
prints the intervals and the wall time. Needs openjd-cli (not a dependency of this project:
pip install openjd-cli in a separate environment, and pass its `openjd` with --openjd).

    python scripts/openjd_local_probe.py --openjd /path/to/venv/bin/openjd
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

TASK = ("echo start {name} $(date +%s.%N) >> {log}; sleep 2; "
        "echo end {name} $(date +%s.%N) >> {log}")


def template(log: Path) -> str:
    a = TASK.format(name="a{{Task.Param.N}}", log=log)
    b = TASK.format(name="b", log=log)
    return f"""specificationVersion: jobtemplate-2023-09
name: probe
steps:
- name: a
  parameterSpace:
    taskParameterDefinitions:
    - name: N
      type: INT
      range: "1-2"
  script:
    actions:
      onRun:
        command: bash
        args: ["-c", "{a}"]
- name: b
  script:
    actions:
      onRun:
        command: bash
        args: ["-c", "{b}"]
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openjd", default="openjd", help="the openjd command")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "log"
        path = Path(folder) / "probe.yaml"
        path.write_text(template(log))
        started = time.perf_counter()
        subprocess.run([args.openjd, "run", str(path)], check=True, capture_output=True)
        wall = time.perf_counter() - started
        lines = [line.split() for line in log.read_text().splitlines()]
    t0 = min(float(t) for _, _, t in lines)
    for what, name, t in lines:
        print(f"{name:>3} {what:<5} {float(t) - t0:6.2f} s")
    print(f"3 tasks of 2 s: openjd run took {wall:.1f} s")


if __name__ == "__main__":
    main()
