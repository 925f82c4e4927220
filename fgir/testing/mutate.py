"""Mutations of valid spec texts: what hand-edited or downloaded specs get wrong.

Each mutator takes the spec text and a ``random.Random`` and returns a new text.
The classes: wrong types, wrong lengths, unknown and deleted keys, YAML garbage,
huge numbers, deep nesting, alias bombs, unsafe tags.

Example:
    >>> import random
    >>> mutate("a: [1, 2]\\n", random.Random(0))   # the text, and the mutators applied
    ('a: [1,* 2]\\n', ['garbage'])
"""

from __future__ import annotations

import random
import re
from typing import Callable

Mutator = Callable[[str, random.Random], str]

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?![\w.])")
_KEY = re.compile(r"^(\s*)([A-Za-z_][\w]*)(\s*:)", re.M)
_LIST = re.compile(r"\[[^\[\]]*\]")

ODD_VALUES = ["-1", "0", "1.5", "true", "null", "'x'", "[]", "{}", "[1, [2]]", "1e400", "-0",
              "99999999999999999999", "0x10", ".inf", "~", "'16'", "{type: ReLU}", "!!binary aGk="]
HUGE = ["4096", "65536", "1000000000", "10**9", "123456789012345678901234567890"]
TAGS = ["!!python/object/apply:os.system ['true']", "!!python/name:os.system", "!custom 1",
        "!!python/tuple [1]", "!!set {a, b}", "!!timestamp 2001-12-14", "!!float 3"]


def _replace_one(pattern: re.Pattern, text: str, rng: random.Random, make: Callable[[str], str]) -> str:
    matches = list(pattern.finditer(text))
    if not matches:
        return text
    m = rng.choice(matches)
    return text[:m.start()] + make(m.group(0)) + text[m.end():]


def wrong_value(text: str, rng: random.Random) -> str:
    return _replace_one(_NUMBER, text, rng, lambda _: rng.choice(ODD_VALUES))


def huge_number(text: str, rng: random.Random) -> str:
    return _replace_one(_NUMBER, text, rng, lambda _: rng.choice(HUGE))


def list_length(text: str, rng: random.Random) -> str:
    def change(lst: str) -> str:
        items = [i.strip() for i in lst[1:-1].split(",") if i.strip()]
        if items and rng.random() < 0.5:
            items.pop(rng.randrange(len(items)))
        else:
            items.append(rng.choice(items) if items else "1")
        return "[" + ", ".join(items) + "]"
    return _replace_one(_LIST, text, rng, change)


def rename_key(text: str, rng: random.Random) -> str:
    matches = list(_KEY.finditer(text))
    if not matches:
        return text
    m = rng.choice(matches)
    name = m.group(2)
    new = rng.choice([name[:-1], name + "s", name.upper(), "type", "modules", "items", "block"])
    return text[:m.start(2)] + new + text[m.end(2):]


def delete_line(text: str, rng: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    if len(lines) > 1:
        del lines[rng.randrange(len(lines))]
    return "".join(lines)


def duplicate_line(text: str, rng: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    if not lines:
        return text
    i = rng.randrange(len(lines))
    lines.insert(i, lines[i])
    return "".join(lines)


def garbage(text: str, rng: random.Random) -> str:
    pos = rng.randrange(len(text) + 1)
    junk = "".join(rng.choice(":-[]{},&*!|>'\"#%@`\t\n x1") for _ in range(rng.randint(1, 6)))
    return text[:pos] + junk + text[pos:]


def truncate(text: str, rng: random.Random) -> str:
    return text[:rng.randrange(len(text) + 1)]


def bad_indent(text: str, rng: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    if not lines:
        return text
    i = rng.randrange(len(lines))
    lines[i] = " " * rng.randint(1, 3) + lines[i] if rng.random() < 0.5 else lines[i].lstrip()
    return "".join(lines)


def tag(text: str, rng: random.Random) -> str:
    return _replace_one(_NUMBER, text, rng, lambda _: rng.choice(TAGS))


def deep_nesting(text: str, rng: random.Random) -> str:
    depth = rng.choice([10, 70, 500, 5000])
    return _replace_one(_NUMBER, text, rng, lambda _: "[" * depth + "1" + "]" * depth)


def alias_bomb(text: str, rng: random.Random) -> str:
    levels = rng.randint(3, 9)
    lines = ["bomb0: &b0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"bomb{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n" + text


MUTATORS: dict[str, Mutator] = {
    "wrong_value": wrong_value, "huge_number": huge_number, "list_length": list_length,
    "rename_key": rename_key, "delete_line": delete_line, "duplicate_line": duplicate_line,
    "garbage": garbage, "truncate": truncate, "bad_indent": bad_indent, "tag": tag,
    "deep_nesting": deep_nesting, "alias_bomb": alias_bomb,
}


def mutate(text: str, rng: random.Random, rounds: int = 1) -> tuple[str, list[str]]:
    """Apply ``rounds`` random mutations; return the text and the mutator names used."""
    used = []
    for _ in range(rounds):
        name = rng.choice(list(MUTATORS))
        text = MUTATORS[name](text, rng)
        used.append(name)
    return text, used
