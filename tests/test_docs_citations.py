"""Nothing in the repository cites a file that is not in it: every ``*.md`` name, every path into the
repository's folders (``fgir/...py``, ``examples/...yaml``, ``docs/...md``) and every relative Markdown link
in the code, the tests, the README, docs/, pyproject.toml, the Makefile and examples/ names a file that
exists (the developers' notes that were once cited, SEMANTICS.md and ARCHITECTURE.md, are docs/ now)."""

from __future__ import annotations

import re
import subprocess

from conftest import ROOT

FOLDERS = ("fgir", "passes", "grammar", "tests", "examples", "docs", "bench")
TOP_FILES = ("README.md", "pyproject.toml", "Makefile", "conftest.py", "constraints.txt")
TEXT_SUFFIXES = (".py", ".md", ".yaml", ".yml", ".toml", ".lark", ".txt", ".cfg")
CHECKED = "py|md|yaml|yml|lark|toml|txt|json|html|cfg"

MD_NAME = re.compile(r"(?<![\w/.\-*<>{}$])([\w][\w./\-]*\.md)\b")
REPO_PATH = re.compile(rf"(?<![\w/.\-])((?:{'|'.join(FOLDERS)})/[\w./\-*]+\.(?:{CHECKED}))\b")
MD_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _files() -> list:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.split()
    return sorted(ROOT / p for p in set(listed)
                  if (p in TOP_FILES or p.split("/")[0] in FOLDERS) and p.endswith(TEXT_SUFFIXES + ("Makefile",))
                  and (ROOT / p).is_file() and p != "tests/test_docs_citations.py")   # this file names missing ones


def _exists(cited: str, where) -> bool:
    cited = cited.rstrip(".")
    if "*" in cited:
        return any(ROOT.glob(cited)) or any(where.parent.glob(cited))
    return any((base / cited).exists() for base in (ROOT, where.parent, ROOT / "docs"))


def missing_citations() -> list[str]:
    problems = []
    for path in _files():
        text = path.read_text(encoding="utf-8", errors="replace")
        cited = set(MD_NAME.findall(text)) | set(REPO_PATH.findall(text))
        if path.suffix == ".md":
            cited |= {link for link in MD_LINK.findall(text) if "://" not in link and not link.startswith("mailto:")}
        for name in sorted(cited):
            if not _exists(name, path):
                problems.append(f"{path.relative_to(ROOT)}: cites {name}, which is not in the repository")
    return problems


def test_every_cited_file_is_in_the_repository():
    assert missing_citations() == []


def test_the_check_finds_a_missing_file(tmp_path):
    text = "see SEMANTICS.md and fgir/nothing_here.py and [x](docs/missing.md)"
    cited = set(MD_NAME.findall(text)) | set(REPO_PATH.findall(text)) | set(MD_LINK.findall(text))
    assert sorted(c for c in cited if not _exists(c, ROOT / "README.md")) == [
        "SEMANTICS.md", "docs/missing.md", "fgir/nothing_here.py"]
