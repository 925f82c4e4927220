"""Every full spec in docs/*.md compiles: a ```yaml block holding ``search_space:`` and ``modules:`` is compiled as it
is written; one whose first line is ``# expect error: TEXT`` must fail with TEXT in its diagnostics.
A snippet (a section alone) is left out. So the documented examples cannot drift from the code."""

from __future__ import annotations

import re

import pytest

import fgir
from conftest import ROOT

FENCE = re.compile(r"^```yaml\n(.*?)^```", re.S | re.M)
EXPECT = "# expect error: "


def doc_specs() -> list[tuple[str, str]]:
    specs = []
    for path in sorted((ROOT / "docs").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            body = match.group(1)
            if re.search(r"^search_space:", body, re.M) and "modules:" in body:   # a full spec, not a snippet
                line = text[:match.start()].count("\n") + 2
                specs.append((f"{path.name}:{line}", body))
    return specs


SPECS = doc_specs()


def test_the_docs_hold_examples_of_every_construct():
    text = "\n".join(body for _, body in SPECS)
    for construct in ("inputs:", "outputs:", "hyper_parameters:", "type: Quant", "type: Prune", "trainer:",
                      "dataset:", "search_algorithm:", "constraints:", "input: 197x768", "input: 512",
                      "choice(", "range(", "code(", "${", "type: Concat", "type: Add", "# expect error: "):
        assert construct in text, construct


@pytest.mark.parametrize("where,body", SPECS, ids=[w for w, _ in SPECS])
def test_a_documented_spec_compiles_as_documented(where, body):
    first = body.splitlines()[0]
    if first.startswith(EXPECT):
        with pytest.raises(fgir.FgirError) as err:
            fgir.compile(body)
        assert first[len(EXPECT):].strip() in err.value.render(), err.value.render()
    else:
        graph = fgir.compile(body)
        assert graph.meta["params"] > 0
        if re.search(r"^search_algorithm:", body, re.M):   # its settings are valid for fgir search too
            from fgir.search.config import make_config
            from fgir.spec.document import parse_document
            from fgir.spec.yaml_loader import load_yaml_text

            assert make_config(parse_document(load_yaml_text(body))).budget > 0
