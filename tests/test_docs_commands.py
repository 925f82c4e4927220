"""Every ```sh block in README.md, examples/README.md and docs/*.md runs as written: each document's commands run in order in a
temporary folder holding a copy of examples/ (so what they write lands there, not in the checkout).

A line is left out when it ends in a ``# needs: ...`` comment (``# needs: gpu``, ``# needs: your data``,
``# needs: a fresh clone``); a line ending in ``# exit N`` must exit with N; every other line must exit 0.
A line ending in ``\\`` continues on the next; a here-document (``cat > spec.yaml <<'EOF'`` ... ``EOF``) is
one command with its body.  docs/tutorial.md is run by tests/test_docs_tutorial.py,
which also checks the figures it quotes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT

SH_FENCE = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
NEEDS = re.compile(r"#\s*needs:")
EXIT = re.compile(r"#\s*exit (\d+)\s*$")
HEREDOC = re.compile(r"<<-?\s*'?(\w+)'?")
OWN_TEST = {"tutorial.md"}          # run, with its figures, by tests/test_docs_tutorial.py
COMMAND_TIMEOUT_S = 300


@dataclass
class Command:
    line: int          # where it starts in the document
    text: str
    status: int = 0    # the exit status it must give


def commands(path: Path) -> list[Command]:
    """The commands of a document's sh blocks, in order; continuations joined, marked lines left out."""
    text = path.read_text(encoding="utf-8")
    out: list[Command] = []
    for block in SH_FENCE.finditer(text):
        first = text[:block.start()].count("\n") + 2
        pending, start, heredoc = "", 0, None
        for offset, raw in enumerate(block.group(1).splitlines()):
            if not pending:
                start = first + offset
            line = raw.rstrip()
            if heredoc is not None:            # a here-document's body, up to its end word
                pending += line + "\n"
                if line.strip() != heredoc:
                    continue
                heredoc, line, pending = None, "", pending.rstrip("\n")
            elif HEREDOC.search(line):
                heredoc = HEREDOC.search(line).group(1)
                pending += line + "\n"
                continue
            elif line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            whole, pending = pending + line, ""
            if not whole.strip() or whole.lstrip().startswith("#") or NEEDS.search(whole):
                continue
            status = EXIT.search(whole)
            out.append(Command(start, whole, int(status.group(1)) if status else 0))
    return out


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
    env.pop("FGIR_VERIFY", None)   # as a user runs them: the suite's per-pass IR checks off
    return env


def workspace(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "examples", tmp_path / "examples",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pt", "*.onnx"))
    return tmp_path


def run(command: Command, cwd: Path, where: str) -> subprocess.CompletedProcess:
    result = subprocess.run(["bash", "-o", "pipefail", "-c", command.text], cwd=cwd, env=environment(),
                            capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    assert result.returncode == command.status, (
        f"{where}:{command.line}: `{command.text}` exited {result.returncode} (documented: {command.status})\n"
        f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}")
    return result


DOCUMENTS = [ROOT / "README.md", ROOT / "examples" / "README.md"] + sorted(p for p in (ROOT / "docs").glob("*.md") if p.name not in OWN_TEST)


def test_commands_are_parsed_as_documented(tmp_path):
    doc = tmp_path / "doc.txt"
    doc.write_text("```sh\nfgir check a.yaml   # note\nmake test   # needs: a fresh clone\n"
                   "fgir check bad.yaml   # exit 1\nfgir train x.yaml \\\n    --epochs 2\n# a comment\n"
                   "cat > s.yaml <<'EOF'\nsearch_space: {}\nEOF\n```\n")
    assert [(c.line, c.text, c.status) for c in commands(doc)] == [
        (2, "fgir check a.yaml   # note", 0), (4, "fgir check bad.yaml   # exit 1", 1),
        (5, "fgir train x.yaml      --epochs 2", 0), (8, "cat > s.yaml <<'EOF'\nsearch_space: {}\nEOF", 0)]


@pytest.mark.parametrize("document", DOCUMENTS, ids=[str(p.relative_to(ROOT)) for p in DOCUMENTS])
def test_every_documented_command_runs(document, tmp_path):
    cwd = workspace(tmp_path)
    for command in commands(document):
        run(command, cwd, document.name)


def test_the_final_count_equals_the_errors_printed(tmp_path):
    """docs/cli.md: ``fgir: N errors`` counts every error printed, over all the files checked."""
    (tmp_path / "bad.yaml").write_text("search_space:\n  modules: [a]\n  a: {type: ResNt}\n")
    command = Command(0, "fgir check a.yaml b.yaml c.yaml bad.yaml", 2)
    result = run(command, tmp_path, "test")
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 4 and result.stderr.endswith("fgir: 4 errors\n"), result.stderr


def test_the_readmes_one_shot_block_is_the_one_docs_search_md_runs():
    """README.md shows the one-shot path without running it twice: each of its lines is a command that
    docs/search.md's sh blocks run, in the same order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^## One-shot NAS.*?^```console\n(.*?)^```", readme, re.S | re.M).group(1).splitlines()
    run_there = [c.text.split("#")[0].strip() for c in commands(ROOT / "docs" / "search.md")]
    start = run_there.index(block[0])
    assert block == run_there[start:start + len(block)]
