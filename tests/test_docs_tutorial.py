"""docs/tutorial.md runs as written and gives the figures it quotes.

Its sh blocks run in order in an empty temporary folder (tests/test_docs_commands.py's runner); each
```text block after them quotes lines their output must hold. A quoted line matches the output line of the
same shape (digits aside); in it, every number with a decimal point at most 1 (an accuracy, a ratio) must be
within TOLERANCE of the quoted one, and every other number (parameters, MACs, images, epochs) equal.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from conftest import ROOT
from test_docs_commands import SH_FENCE, commands, run

TUTORIAL = ROOT / "docs" / "tutorial.md"
TEXT_FENCE = re.compile(r"^```text\n(.*?)^```", re.S | re.M)
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
TOLERANCE = 0.03   # the tutorial states it: accuracies within ±0.03


def shape(line: str) -> str:
    return NUMBER.sub("#", line.strip())


def numbers(line: str) -> list[str]:
    return NUMBER.findall(line)


def close(quoted: str, got: str) -> bool:
    if "." in quoted and float(quoted) <= 1:
        return abs(float(quoted) - float(got)) <= TOLERANCE
    return quoted == got


def quoted_steps(text: str) -> list[tuple[int, list[str]]]:
    """(the number of sh blocks before it, its lines) for each text block."""
    sh_ends = [m.end() for m in SH_FENCE.finditer(text)]
    return [(sum(end <= m.start() for end in sh_ends), [l for l in m.group(1).splitlines() if l.strip()])
            for m in TEXT_FENCE.finditer(text)]


def mismatches(quoted: list[str], output: str) -> list[str]:
    lines = output.splitlines()
    problems = []
    for want in quoted:
        same = [got for got in lines if shape(got) == shape(want)]
        if not same:
            problems.append(f"no output line like {want.strip()!r}")
        elif not any(all(close(q, g) for q, g in zip(numbers(want), numbers(got))) for got in same):
            problems.append(f"{want.strip()!r}: got {same[0].strip()!r}")
    return problems


def test_the_checker_catches_a_changed_figure():
    assert mismatches(["val accuracy 0.9862 after 6 epochs"], "val accuracy 0.9700 after 6 epochs") == []
    assert mismatches(["val accuracy 0.9862 after 6 epochs"], "val accuracy 0.9100 after 6 epochs") != []
    assert mismatches(["parameters 59,306 → 15,322"], "parameters 59,306 → 15,323") != []
    assert mismatches(["wrote q.onnx"], "wrote nothing") != []


def test_the_tutorial_runs_and_gives_its_figures(tmp_path: Path):
    """Block by block: a figure that changed fails at its step, before the steps after it run."""
    text = TUTORIAL.read_text(encoding="utf-8")
    quoted = dict(quoted_steps(text))
    timings = []
    for number, block in enumerate(_commands_by_block(text), start=1):
        output = ""
        for command in block:
            start = time.perf_counter()
            result = run(command, tmp_path, TUTORIAL.name)
            timings.append((command.text.splitlines()[0][:60], round(time.perf_counter() - start, 1)))
            output += result.stdout + result.stderr
        problems = mismatches(quoted.get(number, []), output)
        assert problems == [], f"after sh block {number}: " + "; ".join(problems) + f"\ntimes: {timings}"
    assert (tmp_path / "q.onnx").stat().st_size < (tmp_path / "tuned.onnx").stat().st_size / 2


def _commands_by_block(text: str):
    """The tutorial's commands grouped by sh block (the runner parses a file; hand it one block at a time)."""
    import tempfile

    for match in SH_FENCE.finditer(text):
        with tempfile.TemporaryDirectory() as folder:
            one = Path(folder) / "block.txt"
            one.write_text(match.group(0), encoding="utf-8")
            yield commands(one)
