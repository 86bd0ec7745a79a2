"""Shared by the benchmark scripts: machine facts and writing one section of
docs/benchmarks.md (a `## Heading` section is replaced in place, or appended)."""

from __future__ import annotations

import datetime
import os
import platform
import re
import statistics
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
TITLE = "# Benchmarks\n\nEvery figure here was printed by the script named in its section.\n"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line() -> str:
    """'2026-11-21, 2 cores, <CPU model>, Python 3.11.7' for a benchmark's header."""
    return (f"{datetime.date.today().isoformat()}, {os.cpu_count()} cores, {cpu_model()}, "
            f"Python {platform.python_version()}")


def write_section(heading: str, body: str, path: Path = BENCHMARKS) -> None:
    """Replaces the section `## heading` of the benchmarks page with body (or appends it)."""
    text = path.read_text() if path.exists() else TITLE
    block = f"## {heading}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: block + "\n", text, count=1).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def publish(heading: str, body: str, write: bool = True) -> None:
    """Prints a benchmark's section and, with ``write``, puts it under `## heading`."""
    print(body)
    if write:
        write_section(heading, body)


def median_ms(fn, repeats: int = 9) -> float:
    """Median wall time of fn() in milliseconds over ``repeats`` calls, after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)
