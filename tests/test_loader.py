"""The safe, location-keeping YAML loader and the document forms."""

import pytest

import fgir
from fgir.diagnostics import FgirError, Loc
from fgir.spec.yaml_loader import load_yaml_text


def test_every_key_and_value_keeps_its_location():
    doc = load_yaml_text("a:\n  b: [1, 2]\n  c: {d: x}\n", "s.yaml")
    assert doc["a"].key_loc("b") == Loc("s.yaml", 2, 3)
    assert doc["a"]["b"].item_loc(1) == Loc("s.yaml", 2, 10)
    assert doc["a"]["c"].value_loc("d") == Loc("s.yaml", 3, 10)


def test_python_tuple_is_accepted_as_a_list():
    doc = load_yaml_text("size: !!python/tuple [1, 1]\n")
    assert doc["size"] == [1, 1] and doc["size"].is_tuple


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system", "!!python/name:os.system",
                                 "!!python/object:builtins.dict", "!!python/module:os"])
def test_other_python_tags_are_rejected_and_never_run(tmp_path, tag):
    marker = tmp_path / "ran"
    text = f"search_space:\n  x: {tag} ['touch {marker}']\n"
    with pytest.raises(FgirError) as info:
        fgir.loads(text, "evil.yaml")
    assert not marker.exists()
    assert info.value.message == f"unsafe YAML tag '{tag}' is not allowed"
    assert (info.value.line, info.value.column) == (2, 6)


def test_duplicate_keys_are_an_error():
    with pytest.raises(FgirError) as info:
        load_yaml_text("a: 1\nb: 2\na: 3\n", "s.yaml")
    assert str(info.value.diagnostics[0]) == "s.yaml:3:1: error: duplicate key 'a'\ns.yaml:3:1: note: first given at s.yaml:1:1"


def test_alias_bomb_is_bounded():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    with pytest.raises(FgirError) as info:
        load_yaml_text("\n".join(lines) + "\n", "bomb.yaml")
    assert "more than 100000 values" in info.value.message


def test_recursive_alias_is_bounded():
    with pytest.raises(FgirError) as info:
        load_yaml_text("a: &a [*a]\n", "r.yaml")
    assert "nesting deeper than" in info.value.message


def test_malformed_yaml_points_at_the_problem():
    with pytest.raises(FgirError) as info:
        load_yaml_text("search_space:\n  modules: [m\n  m: {type: ReLU}\n", "bad.yaml")
    assert str(info.value.diagnostics[0]) == \
        "bad.yaml:3:4: error: malformed YAML: the '[' list opened at 2:12 is not closed: expected ',' or ']'"


def test_merge_keys_work_and_explicit_keys_win():
    doc = load_yaml_text("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n")
    assert dict(doc["d"]) == {"x": 1, "y": 3}


def test_space_alone_is_accepted():
    graph = fgir.compile("type: FineGrainedSpace\nmodules: [net]\nnet: {type: ResNet, depth: 20}\n")
    assert graph.meta["params"] == 272_474


def test_missing_file_is_an_io_error(tmp_path):
    from fgir.diagnostics import SpecIOError

    with pytest.raises(SpecIOError) as info:
        fgir.load(tmp_path / "nope.yaml")
    assert info.value.message == "no such file"


def test_empty_spec_is_an_error():
    with pytest.raises(FgirError) as info:
        load_yaml_text("", "e.yaml")
    assert str(info.value.diagnostics[0]) == "e.yaml:1:1: error: the spec is empty"


def test_alias_bomb_is_refused_before_it_is_built(monkeypatch):
    from fgir.spec import yaml_loader

    built = []
    monkeypatch.setattr(yaml_loader._Builder, "build", lambda self, node, depth=0: built.append(node))
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 12)]  # 10^12 values
    with pytest.raises(FgirError):
        load_yaml_text("\n".join(lines) + "\n", "bomb.yaml")
    assert built == []  # refused by counting what the aliases expand to, not by expanding them


def test_explicit_tag_on_a_value_it_cannot_describe():
    with pytest.raises(FgirError) as info:
        load_yaml_text("a: !!float x\n", "t.yaml")
    assert str(info.value.diagnostics[0]) == \
        "t.yaml:1:4: error: bad float value 'x': could not convert string to float: 'x'"


def test_a_document_that_is_not_a_mapping_names_the_file():
    with pytest.raises(FgirError) as info:
        fgir.loads("just text\n", "s.yaml")
    assert str(info.value.diagnostics[0]) == \
        "s.yaml:1:1: error: a spec is a mapping with a 'search_space' section"
