"""The rules of the house (docs/architecture.md), checked: layers, private names, one home for each op."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, installed_env
from fgir.ir.ops import OPS

LIBRARY = [p for p in [*(ROOT / "fgir").rglob("*.py"), *(ROOT / "passes").rglob("*.py")]]


def lint_imports(site: Path, config: Path) -> subprocess.CompletedProcess:
    code = ("import sys; sys.argv = ['lint-imports', %r]; "
            "from importlinter.cli import lint_imports_command; lint_imports_command()" % str(config))
    return subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          env=installed_env(site), cwd=site.parent, timeout=300)   # not the checkout


def test_import_contracts_hold(installed_copy):
    result = lint_imports(installed_copy, ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 5 kept, 0 broken." in result.stdout


def test_the_linter_sees_the_passes_package(installed_copy, tmp_path):
    # a contract every build breaks: the linter would pass vacuously if it could not see fgir.passes
    config = tmp_path / "broken.toml"
    config.write_text('[tool.importlinter]\nroot_packages = ["fgir"]\n\n'
                      '[[tool.importlinter.contracts]]\nname = "passes without the IR"\ntype = "forbidden"\n'
                      'source_modules = ["fgir.passes"]\nforbidden_modules = ["fgir.ir"]\n')
    result = lint_imports(installed_copy, config)
    assert result.returncode == 1 and "fgir.passes.base -> fgir.ir" in result.stdout


def _package(module: str) -> str:
    """The first-level package a module belongs to: fgir.backends.torch.quant → fgir.backends."""
    return ".".join(module.split(".")[:2])


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[0] == "passes":
        parts = ["fgir", *parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def test_no_module_imports_another_packages_private_names():
    offenders = []
    for path in LIBRARY:
        here = _package(_module_name(path))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                if private and node.module.startswith("fgir") and _package(node.module) != here:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.module}.{private[0]}")
    assert offenders == []


def _code_strings(path: Path) -> set[str]:
    """The string constants of a module's code (docstrings and their examples left out)."""
    tree = ast.parse(path.read_text())
    skip = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    for n in ast.walk(tree):   # names a module exports are not ops
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets):
            skip |= {id(c) for c in ast.walk(n.value)}
    return {n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip}


# op names that are also ordinary strings elsewhere: a node called 'input', torchvision's child 'relu',
# the expression grammar's 'mul'
COMMON_WORDS = {"input", "add", "relu", "mul", "dropout",   # also torch argument names
                "quantize"}                                  # also the `fgir quantize` command


def test_each_op_is_named_only_where_it_is_defined_and_lowered():
    """An op's name appears in its schema, its torch rule, its ONNX rule and the layer specs write;
    nowhere else in the library (passes, cost, prune, quant and viz ask the schema)."""
    # the two backend rules, the layers specs write, and the functional forms of the joins (add, mul, concat)
    allowed = {"fgir/blocks/module.py", "fgir/blocks/values.py",
               *(str(p.relative_to(ROOT)) for p in [*(ROOT / "fgir/backends").glob("*/rules*.py"),
                                                    *(ROOT / "fgir/blocks").glob("layers*.py")])}
    homes = {op: str(Path(sys.modules[s.label.__module__].__file__).relative_to(ROOT)) for op, s in OPS.items()}
    where: dict[str, list[str]] = {}
    for path in LIBRARY:
        rel = str(path.relative_to(ROOT))
        if rel in allowed or rel.startswith("fgir/testing/"):
            continue   # the spec generator of the property tests writes ops by name
        strings = _code_strings(path)
        for op in OPS:
            if op not in COMMON_WORDS and rel != homes[op] and op in strings:
                where.setdefault(op, []).append(rel)
    assert where == {}


def test_at_most_five_library_files_name_conv2d():
    files = [p for p in LIBRARY if '"conv2d"' in p.read_text()]
    assert len(files) <= 5, [str(p.relative_to(ROOT)) for p in files]


def test_every_package_of_the_library_is_installed():
    """pyproject lists packages by hand: a new package left out installs nothing (an import error for users)."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "fgir").rglob("__init__.py")}
    assert found - listed == set()
