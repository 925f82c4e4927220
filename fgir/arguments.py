"""The public API's arguments, checked at the door: a wrong one is an :class:`ArgumentError`.

An ArgumentError is an FgirError (also a TypeError and a ValueError) whose
diagnostic names the function and the argument, so a wrong call never ends in an
internal error deep in a pass, or in a traceback from torch.

Example:
    >>> str(input_size((3, 64, 64), "fgir.compile"))
    '3x64x64'
    >>> input_size("3x0x32", "fgir.compile")
    Traceback (most recent call last):
    fgir.diagnostics.ArgumentError: fgir.compile: error: input: expected positive CxHxW such as 3x32x32, got '3x0x32'
    >>> is_spec_text("search_space: {modules: [net], net: {type: ResNet, depth: 20}}")
    True
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterable, Iterator

from fgir.diagnostics import ArgumentError
from fgir.ir.graph import Graph
from fgir.ir.types import TensorType

# one line of YAML that is a mapping: ``key: value`` or ``{...}`` (a path never looks like this)
_YAML_LINE = re.compile(r"^\s*(\{|[A-Za-z_][\w.-]*\s*:(\s|$))")


def _kind(value: Any) -> str:
    return type(value).__name__


def is_spec_text(source: str) -> bool:
    """Whether a string is spec text rather than a file name: it has a newline, or it is one line of
    YAML mapping (``search_space: {...}``) that names no existing file."""
    if "\n" in source:
        return True
    return bool(_YAML_LINE.match(source)) and not os.path.exists(source)


def spec_source(value: Any, function: str) -> str | Path | Graph:
    """A spec as the API takes it: a path, spec text, or a Graph."""
    if isinstance(value, (str, Path, Graph)):
        return value
    if isinstance(value, os.PathLike):
        return Path(value)
    raise ArgumentError.of(function, "spec", f"expected a spec file's path, spec text or a Graph, got {_kind(value)}")


def text(value: Any, function: str, argument: str) -> str:
    if not isinstance(value, str):
        raise ArgumentError.of(function, argument, f"expected a string, got {_kind(value)}")
    return value


NAME_MAX = 255     # bytes in one file name (Linux, macOS, Windows)
PATH_MAX = 4096    # bytes in a whole path (Linux)


def path(value: Any, function: str, argument: str) -> Path:
    """A file path: a non-empty string or path-like, without a NUL byte, each name short enough for the
    file system (what the system would refuse with a bare ValueError or OSError)."""
    if isinstance(value, os.PathLike) and not isinstance(value, Path):
        try:
            value = os.fspath(value)
        except TypeError:
            pass
    if not isinstance(value, (str, Path)) or (isinstance(value, str) and not value):
        raise ArgumentError.of(function, argument, f"expected a file path, got {value!r}"
                               if isinstance(value, str) else f"expected a file path, got {_kind(value)}")
    text = str(value)
    if "\0" in text:
        raise ArgumentError.of(function, argument, f"a path cannot hold a NUL byte, got {text!r}")
    encoded = os.fsencode(text)
    longest = max(encoded.split(b"/"), key=len)
    if len(longest) > NAME_MAX:
        raise ArgumentError.of(function, argument, f"a file name of {len(longest)} bytes; file systems take "
                                                   f"{NAME_MAX} at most", hint=f"{os.fsdecode(longest[:40])}...")
    if len(encoded) > PATH_MAX:
        raise ArgumentError.of(function, argument, f"a path of {len(encoded)} bytes; the system takes "
                                                   f"{PATH_MAX} at most")
    return Path(value)


def optional_path(value: Any, function: str, argument: str) -> Path | None:
    """None, or a file path (:func:`path`)."""
    return None if value is None else path(value, function, argument)


def path_or_data(value: Any, function: str, argument: str, kinds: tuple[type, ...] = (dict,)) -> Any:
    """A path (:func:`path`), or an in-memory value of one of ``kinds`` (a state_dict, a module)."""
    if value is None or isinstance(value, kinds):
        return value
    return path(value, function, argument)


def input_size(value: Any, function: str) -> TensorType | None:
    """``input=``: None, ``"3x32x32"`` (``"197x768"`` for a token sequence, ``"64"`` for a flat input), a
    TensorType, or a tuple or list of positive ints ``(3, 32, 32)``."""
    if value is None or isinstance(value, TensorType):
        return value
    if isinstance(value, str):
        try:
            return TensorType.parse(value)
        except ValueError as exc:
            raise ArgumentError.of(function, "input", str(exc)) from None
    if isinstance(value, (tuple, list)) and len(value) in (1, 2, 3) and \
            all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in value):
        return TensorType(*value)
    got = repr(tuple(value)) if isinstance(value, (tuple, list)) else _kind(value)
    raise ArgumentError.of(function, "input", f"expected CxHxW such as 3x32x32, LxD such as 197x768 (or a tuple "
                                              f"(3, 32, 32)), got {got}")


def whole(value: Any, function: str, argument: str, minimum: int | None = None,
          optional: bool = True) -> int | None:
    """An int argument (never a bool), at least ``minimum`` when given."""
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ArgumentError.of(function, argument, f"expected a whole number, got {_kind(value)}")
    if minimum is not None and value < minimum:
        raise ArgumentError.of(function, argument, f"expected {minimum} or more, got {value}")
    return value


def seed(value: Any, function: str) -> int | None:
    """A random seed: None, or a whole number torch and numpy both take (0 to 2**63 - 1)."""
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2 ** 63):
        got = value if isinstance(value, int) and not isinstance(value, bool) else _kind(value)
        raise ArgumentError.of(function, "seed", f"expected a whole number from 0 to 2**63 - 1, got {got}")
    return value


def stream(value: Any, function: str, argument: str) -> Any:
    """A text stream (anything with ``write``), or None."""
    if value is not None and not callable(getattr(value, "write", None)):
        raise ArgumentError.of(function, argument, f"expected a text stream (sys.stderr, a file) or None, "
                                                   f"got {_kind(value)}")
    return value


def callback(value: Any, arguments: tuple[str, ...], function: str, argument: str) -> Any:
    """A function that can be called with ``arguments`` (positionally)."""
    import inspect

    try:
        inspect.signature(value).bind(*arguments)
    except TypeError:
        raise ArgumentError.of(function, argument, f"expected a function taking ({', '.join(arguments)}), "
                                                   f"got {_kind(value)} {_signature_text(value)}") from None
    except ValueError:   # no signature to read (a builtin): it is tried as it is
        pass
    return value


def _signature_text(value: Any) -> str:
    import inspect

    try:
        return str(inspect.signature(value))
    except (TypeError, ValueError):
        return ""


def flag(value: Any, function: str, argument: str) -> bool:
    if not isinstance(value, bool):
        raise ArgumentError.of(function, argument, f"expected True or False, got {_kind(value)}")
    return value


def choice(value: Any, choices: Iterable[str], function: str, argument: str) -> str:
    options = list(choices)
    if not isinstance(value, str) or value not in options:
        raise ArgumentError.of(function, argument, f"expected one of {', '.join(options)}, got {value!r}")
    return value


def passes(value: Any, function: str) -> list[Any] | None:
    """``passes=``: None (the default pipeline) or a list of passes."""
    from fgir.passes import Pass

    if value is None:
        return None
    items = list(value) if isinstance(value, (list, tuple)) else None
    if items is None or not all(isinstance(p, Pass) for p in items):
        raise ArgumentError.of(function, "passes", "expected a list of passes (fgir.passes.Pass, @graph_pass "
                                                   f"functions), got {_kind(value)}")
    return items


def pass_names(value: Any, function: str) -> str | list[str] | None:
    """``dump_after=``: one pass name, several, or ``"all"``."""
    if value is None:
        return None
    if isinstance(value, str):
        return "all" if value == "all" else [value]   # one name: not its letters
    if isinstance(value, Iterable) and not isinstance(value, (bytes, dict)):
        names = _items(value)
        if names is not None and all(isinstance(n, str) for n in names):
            return "all" if "all" in names else names
    raise ArgumentError.of(function, "dump_after", f"expected a pass name or a list of them, got {_kind(value)}")


def _items(value: Iterable[Any]) -> list[Any] | None:
    """The items of an iterable, or None for one that refuses to be iterated (a 0-d tensor or array)."""
    try:
        return list(value)
    except TypeError:
        return None


def names(value: Any, function: str, argument: str) -> list[str]:
    """A list of names (``keep=``): a list, tuple or set of strings; one string is one name."""
    if isinstance(value, str):
        return [value]
    items = _items(value) if isinstance(value, (list, tuple, set, frozenset)) else None
    if items is None or not all(isinstance(n, str) for n in items):
        raise ArgumentError.of(function, argument, f"expected a list of names, got {_kind(value)}")
    return items


def checked_batches(batches: Any, sample: tuple[int, ...], function: str) -> Iterator[Any]:
    """``calibrate=``: the batches, each checked to be N x C x H x W of the network's input ``sample``."""
    if getattr(batches, "ndim", None) == 0:
        raise ArgumentError.of(function, "calibrate", f"expected a list of batches (tensors or arrays, "
                                                      f"N x {'x'.join(map(str, sample))}), got a scalar "
                                                      f"{_kind(batches)}")
    if isinstance(batches, (str, bytes, dict)) or not isinstance(batches, Iterable):
        raise ArgumentError.of(function, "calibrate", f"expected a list of batches (tensors or arrays, "
                                                      f"N x {'x'.join(map(str, sample))}), got {_kind(batches)}")
    wanted = "Nx" + "x".join(map(str, sample))
    i = -1
    for i, batch in enumerate(batches):
        shape = getattr(batch, "shape", None)
        if shape is None:
            raise ArgumentError.of(function, f"calibrate[{i}]", f"expected a tensor or array, got {_kind(batch)}")
        if len(shape) != len(sample) + 1 or tuple(shape[1:]) != tuple(sample) or shape[0] < 1:
            got = "x".join(str(int(d)) for d in shape) or "a scalar"
            raise ArgumentError.of(function, f"calibrate[{i}]", f"a batch of shape {got}; the network takes {wanted}")
        yield batch
    if i < 0:
        raise ArgumentError.of(function, "calibrate", f"no batches: give at least one ({wanted})")


__all__ = ["NAME_MAX", "PATH_MAX", "callback", "checked_batches", "choice", "flag", "input_size", "is_spec_text",
           "names", "optional_path", "pass_names", "passes", "path", "path_or_data", "seed", "spec_source", "stream",
           "text", "whole"]
