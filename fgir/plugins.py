"""User code: plugins that register blocks (a ``.py`` file or an importable module), and its errors.

A bug in the user's Python code is the user's error, never "a bug in fgir": it is
reported at the user's file and line (and, for a block, at the spec line that used
it; :func:`user_code_error`), as an FgirError (exit 1).  A plugin that cannot be
read at all (no such file or module) is a SpecIOError (exit 2).

Example:
    >>> load_plugin("examples/user_blocks/searchable_stage.py")
    >>> from fgir.blocks import BLOCKS
    >>> "SearchableStage" in BLOCKS
    True
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import sysconfig
import traceback
from pathlib import Path
from types import ModuleType

from fgir.diagnostics import Diagnostic, FgirError, Loc, Note, Origin, SpecIOError

_LOADED: dict[Path, None] = {}   # the plugin files loaded, in order (a dict: ordered, no repeats)
# what else plugins register keeps a way to forget it here (fgir.op_plugins: the ops), so that this
# module, which the blocks import, need not import what registers them
FORGET_HOOKS: list = []
PLUGIN_PREFIX = "fgir_plugin_"   # the module name a plugin file is loaded as: fgir_plugin_<stem>
_FGIR_ROOT = Path(__file__).resolve().parent

# names a Vega search-space file uses; fgir's user blocks are written with fgir.blocks instead
VEGA_NAMES = frozenset({"ClassFactory", "ClassType", "FineGrainedSpace", "FineGrainedSpaceFactory", "Module",
                        "SearchSpace", "vega", "zeus"})
VEGA_HINT = ("ClassFactory, ClassType and FineGrainedSpace are Vega's: an fgir block subclasses "
             "fgir.blocks.Block and is registered with @fgir.blocks.register_block "
             "(see examples/user_blocks/searchable_stage.py)")


class PluginError(FgirError):
    """An error in the user's Python code (a plugin, a user block): exit status 1 in the CLI."""


def load_plugin(name: str | Path) -> None:
    """Import a ``.py`` file (run once per process, however often it is named) or a module by name.

    Raises SpecIOError when there is no such file or module, PluginError (an FgirError) when
    its code fails: located at the plugin's line.
    """
    if not isinstance(name, (str, Path)):
        raise SpecIOError(Diagnostic(Loc(repr(name)), "", "a plugin is a .py file or a module name, "
                                                          f"not {type(name).__name__}"))
    name = str(name)
    if name.endswith(".py"):
        _load_file(Path(name))
        return
    try:
        found = importlib.util.find_spec(name)
    except (ImportError, ValueError) as exc:   # a parent package that fails, or an empty name
        found, cause = None, exc
    else:
        cause = None
    if found is None:
        detail = f" ({cause})" if cause else ""
        raise SpecIOError(Diagnostic(Loc(name), "", f"no plugin module '{name}' can be imported{detail}",
                                     hint="give a .py file, or a module on the Python path"))
    try:
        importlib.import_module(name)
    except Exception as exc:
        raise PluginError(user_code_error(exc, "the plugin", found.origin or name)) from None


def _load_file(path: Path) -> None:
    if not path.is_file():
        raise SpecIOError(Diagnostic(Loc(str(path)), "", "no such plugin file" if not path.exists()
                                     else "is not a file"))
    resolved = path.resolve()
    if resolved in _LOADED:
        return
    module_name = f"{PLUGIN_PREFIX}{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise SpecIOError(Diagnostic(Loc(str(path)), "", "cannot be loaded as Python code"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module   # what dataclasses, pickle and typing look classes up in
    try:
        _run(spec.loader, module, path)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    _LOADED[resolved] = None


def _run(loader, module: ModuleType, path: Path) -> None:
    try:
        loader.exec_module(module)
    except (UnicodeDecodeError, OSError) as exc:
        raise SpecIOError(Diagnostic(Loc(str(path)), "", f"cannot be read ({exc})")) from None
    except Exception as exc:
        raise PluginError(user_code_error(exc, "the plugin", str(path))) from None


def forget_plugins() -> None:
    """Unregister the blocks plugin files registered and forget the files, so loading one runs it again
    (tests and the fuzzer start each case from fgir's own blocks)."""
    from fgir.blocks import BLOCKS

    for name in [n for n, cls in BLOCKS.items() if cls.__module__.startswith(PLUGIN_PREFIX)]:
        del BLOCKS[name]
    for forget in FORGET_HOOKS:
        forget()
    for module in [m for m in sys.modules if m.startswith(PLUGIN_PREFIX)]:
        del sys.modules[module]
    _LOADED.clear()


def _is_fgir_or_library(filename: str) -> bool:
    """Code that is not the user's: fgir's own (fgir.passes may live beside it), Python's, a library's."""
    path = Path(filename)
    if not path.is_absolute():
        return filename.startswith("<frozen")
    roots = [_FGIR_ROOT, *(Path(p) for p in {sysconfig.get_paths()[k] for k in ("stdlib", "purelib", "platlib")})]
    passes = sys.modules.get("fgir.passes")
    if passes is not None and getattr(passes, "__file__", None):
        roots.append(Path(passes.__file__).parent)
    resolved = path.resolve()
    return any(resolved.is_relative_to(root.resolve()) for root in roots)


def user_frame(exc: BaseException, prefer: str | None = None) -> Loc | None:
    """Where in the user's code ``exc`` was raised: the innermost frame in ``prefer`` (a file), else
    the innermost frame that is neither fgir's nor a library's; None when there is none."""
    frames = traceback.extract_tb(exc.__traceback__)
    chosen = None
    if prefer is not None:
        wanted = Path(prefer).resolve()
        chosen = next((f for f in reversed(frames) if Path(f.filename).resolve() == wanted), None)
    if chosen is None:
        chosen = next((f for f in reversed(frames) if not _is_fgir_or_library(f.filename)), None)
    if chosen is None:
        return None
    col = (chosen.colno or 0) + 1 if chosen.colno is not None else 0
    return Loc(_shown(chosen.filename), chosen.lineno or 0, col)


def _shown(filename: str) -> str:
    """A file as the user named it: relative to the working folder when it is inside it."""
    try:
        return str(Path(filename).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return filename


def _hint(exc: BaseException) -> str | None:
    name = getattr(exc, "name", None)
    if isinstance(exc, NameError) and name in VEGA_NAMES or \
            isinstance(exc, ImportError) and str(name or "").split(".")[0] in VEGA_NAMES:
        return VEGA_HINT
    if isinstance(exc, NameError) and name:
        import fgir.blocks

        if name in fgir.blocks.__all__:
            return f"import it: from fgir.blocks import {name}"
    if isinstance(exc, FgirError) and exc.diagnostics:   # fgir refused what the code asked, and said why
        return exc.diagnostics[0].hint
    return getattr(exc, "fgir_hint", None)


def user_code_error(exc: BaseException, what: str, source: str, used_at: Origin | None = None,
                    fallback: Loc | None = None) -> Diagnostic:
    """The diagnostic for ``exc``, raised by ``what`` (``the plugin``, ``SearchableStage.constructor``)
    whose code is in ``source``: at the user's line (``fallback`` when no frame of the traceback is
    the user's), with a note at the spec line that used it."""
    if isinstance(exc, SyntaxError):
        loc = Loc(_shown(exc.filename or source), exc.lineno or 0, exc.offset or 0)
        message = f"SyntaxError: {exc.msg}"
    else:
        fallback = Loc(_shown(fallback.file), fallback.line, fallback.col) if fallback else Loc(_shown(source))
        loc = user_frame(exc, prefer=source) or fallback
        text = str(exc)
        if isinstance(exc, FgirError):   # fgir refused what the code asked (register_block(42)): say it so
            first = exc.diagnostics[0]
            message = f"{first.loc.file}: {first.path + ': ' if first.path else ''}{first.message}"
        elif getattr(exc, "fgir_hint", None) is not None:
            message = text
        else:
            message = f"{what} raised {type(exc).__name__}" + (f": {text}" if text else "")
    notes = (Note(used_at.loc, f"{used_at.path + ': ' if used_at.path else ''}used here"),) if used_at else ()
    return Diagnostic(loc, "", message, hint=_hint(exc), notes=notes)


def loaded_plugins() -> list[Path]:
    """The plugin files this process loaded, in the order it loaded them: what a search's workers load."""
    return list(_LOADED)


__all__ = ["PluginError", "load_plugin", "loaded_plugins", "user_code_error", "user_frame"]
