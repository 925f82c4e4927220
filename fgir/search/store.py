"""A search's output directory: ``search.json``, ``results.jsonl``, ``best.yaml``.

``search.json`` records what decides the results (spec hash, algorithm and its
options, objectives, constraints, evaluator, seed, input).  Opening a directory
that holds another search's results is an error; the same search resumes: its
rows are replayed and the search continues up to the budget.  Rows are written
one JSON object a line, in a fixed key order, with nothing time-dependent in
them, so the same seed gives a byte-identical file.

Example:
    >>> import tempfile
    >>> store = ResultStore(tempfile.mkdtemp(), {"seed": 0})
    >>> store.append([{"index": 0, "hash": "ab"}]); ResultStore(store.outdir, {"seed": 0}).rows
    [{'index': 0, 'hash': 'ab'}]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fgir.diagnostics import Diagnostic, Loc
from fgir.search.config import SearchUsageError

SETTINGS = "search.json"
RESULTS = "results.jsonl"
BEST = "best.yaml"
ROW_KEYS = ("index", "hash", "origin", "status", "values", "params", "macs", "metrics", "message")


def _fail(path: Path, message: str, hint: str | None = None) -> SearchUsageError:
    return SearchUsageError(Diagnostic(Loc(str(path)), "", message, hint=hint))


def row_line(row: dict[str, Any]) -> str:
    ordered = {k: row[k] for k in ROW_KEYS if k in row}
    ordered.update({k: v for k, v in row.items() if k not in ordered})
    return json.dumps(ordered, separators=(", ", ": ")) + "\n"


class ResultStore:
    """Opens (or creates) an output directory for a search with this fingerprint."""

    def __init__(self, outdir: str | Path, fingerprint: dict[str, Any]) -> None:
        self.outdir = Path(outdir)
        self.fingerprint = json.loads(json.dumps(fingerprint))   # as it reads back from disk
        if self.outdir.exists() and not self.outdir.is_dir():
            raise _fail(self.outdir, "is a file, not an output directory")
        self.rows = self._open()

    @property
    def results_path(self) -> Path:
        return self.outdir / RESULTS

    def _open(self) -> list[dict[str, Any]]:
        settings, results = self.outdir / SETTINGS, self.results_path
        if settings.exists():
            try:
                recorded = json.loads(settings.read_text(encoding="utf-8"))
            except (ValueError, OSError) as exc:
                raise _fail(settings, f"unreadable search settings ({exc})") from None
            differs = [k for k in sorted(set(recorded) | set(self.fingerprint))
                       if recorded.get(k) != self.fingerprint.get(k)]
            if differs:
                raise _fail(settings, "holds the results of another search (it differs in "
                            f"{', '.join(differs)})", hint="choose another output directory, or "
                            "remove this one to start over")
        elif results.exists():
            raise _fail(results, "holds search results without their settings (search.json)",
                        hint="choose another output directory")
        self.outdir.mkdir(parents=True, exist_ok=True)
        settings.write_text(json.dumps(self.fingerprint, indent=2, sort_keys=True) + "\n",
                            encoding="utf-8")
        return self._read_rows()

    def _read_rows(self) -> list[dict[str, Any]]:
        path = self.results_path
        if not path.exists():
            return []
        text = path.read_text(encoding="utf-8")
        complete = text[: text.rfind("\n") + 1]
        if complete != text:   # a line cut short by an interrupted run: drop it, it is re-evaluated
            path.write_text(complete, encoding="utf-8")
        rows = []
        for number, line in enumerate(complete.splitlines(), 1):
            try:
                rows.append(json.loads(line))
            except ValueError:
                raise SearchUsageError(Diagnostic(Loc(str(path), number, 1), "",
                                                  "not a JSON row; the results file is damaged")) from None
        return rows

    def append(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        with self.results_path.open("a", encoding="utf-8") as out:
            out.writelines(row_line(row) for row in rows)

    def write_best(self, text: str) -> Path:
        path = self.outdir / BEST
        path.write_text(text, encoding="utf-8")
        return path


__all__ = ["BEST", "RESULTS", "ROW_KEYS", "ResultStore", "SETTINGS", "row_line"]
