"""The generated references are the code's: docs/blocks.md is what ``fgir blocks --format markdown`` writes
now, and docs/api.md what docs/generate.py makes of the docstrings of ``fgir.__all__`` now (both
regenerated here, so a block added or an argument changed without ``python docs/generate.py`` fails).
And ``help(fgir)`` shows every public function with an example."""

from __future__ import annotations

import importlib.util
import pydoc
import subprocess
import sys

import fgir
from conftest import ROOT


def _generate():
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_blocks_md_is_what_fgir_blocks_writes():
    fresh = subprocess.run([sys.executable, "-m", "fgir", "blocks", "--format", "markdown"], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert fresh.returncode == 0, fresh.stderr
    committed = (ROOT / "docs" / "blocks.md").read_text(encoding="utf-8")
    assert committed == fresh.stdout, "docs/blocks.md is stale: run python docs/generate.py"
    for name in ("BasicBlock", "Conv2d", "LayerNorm", "MultiheadAttention", "Quant", "Prune"):
        assert f"\n### {name}\n" in committed
    assert "| `out_channels` | a positive integer | required |" in committed


def test_api_md_is_generated_from_the_docstrings():
    committed = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert committed == _generate().api_markdown(), "docs/api.md is stale: run python docs/generate.py"
    for name in fgir.__all__:
        if name != "__version__":
            assert f"\n## {name}\n" in committed


def test_help_lists_every_public_function_with_an_example():
    text = pydoc.render_doc(fgir, renderer=pydoc.plaintext)
    for name in fgir.__all__:
        if callable(getattr(fgir, name)) and not isinstance(getattr(fgir, name), type):
            assert f"fgir.{name}(" in text or f"{name}(" in text, name
    module_doc = fgir.__doc__
    for name in fgir.__all__:   # the module docstring's example uses every public name
        if name != "__version__":
            assert name in module_doc, name


def test_the_generator_flags_a_stale_file(tmp_path, monkeypatch):
    gen = _generate()
    monkeypatch.setattr(gen, "DOCS", tmp_path)
    monkeypatch.setattr(gen, "ROOT", tmp_path)
    monkeypatch.setattr(gen, "generated", lambda: {tmp_path / "api.md": "new\n"})
    (tmp_path / "api.md").write_text("old\n")
    assert gen.main(["--check"]) == 1
    assert gen.main([]) == 0 and gen.main(["--check"]) == 0
