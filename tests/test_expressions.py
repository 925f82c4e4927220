"""The expression grammar (grammar/expressions.lark): each construct, evaluation, and error positions."""

import pytest

from fgir.diagnostics import FgirError, Loc
from fgir.spec.expressions import (BinOp, Call, Lit, Neg, Num, Path, Ref, Source, evaluate,
                                   parse_expression, parse_path, references)


@pytest.mark.parametrize("text,segments", [
    ("layer.doublechannel", ("layer", "doublechannel")),
    ("resnet.items.stride[3]", ("resnet", "items", "stride", 3)),
    ("process.nbit_w_list[*]", ("process", "nbit_w_list", "*")),
    ("process.chn_mask[2][0]", ("process", "chn_mask", 2, 0)),
    ("layer.downsample ", ("layer", "downsample")),     # YAML keeps no trailing space, but be lenient
])
def test_paths(text, segments):
    assert parse_path(text).segments == segments


def test_path_prints_back():
    assert str(parse_path("resnet.items.stride[3]")) == "resnet.items.stride[3]"


def test_numbers_are_the_grammars_own():
    assert parse_expression("42") == Num(42)
    assert parse_expression("50_000_000") == Num(50_000_000)
    assert parse_expression("0.25").value == 0.25
    assert parse_expression("1e-3").value == 0.001
    assert parse_expression("-3") == Num(-3)
    assert isinstance(parse_expression("7").value, int)


def test_domains_are_calls_with_positions():
    assert parse_expression("choice(16, 32, 64)") == Call(
        "choice", (Num(16, 7), Num(32, 11), Num(64, 15)), (), 0)
    assert parse_expression("range(1, 8)") == Call("range", (Num(1, 6), Num(8, 9)), (), 0)
    assert parse_expression("code(8, ones=4)") == Call("code", (Num(8, 5),), (("ones", Num(4, 13)),), 0)
    assert parse_expression("uniform(0.1, 0.5)").args == (Num(0.1, 8), Num(0.5, 13))
    assert parse_expression("range(2, 64, step=2)").kwarg("step") == Num(2, 18)


def test_literals_inside_domains():
    call = parse_expression("choice([0, 1], [1, 0], 'BasicBlock', \"x\", true, null)")
    assert [a.value for a in call.args] == [[0, 1], [1, 0], "BasicBlock", "x", True, None]


def test_references_and_arithmetic():
    expr = parse_expression("${init.init_plane} * 16")
    assert expr == BinOp("*", Ref(Path(("init", "init_plane"), 2), 0), Num(16, 21), 0)
    assert [str(r.path) for r in references(parse_expression("${a.b} + ${c.d[2]} // 2"))] == \
        ["a.b", "c.d[2]"]
    assert isinstance(parse_expression("-${a.b}"), Neg)


def test_precedence_and_evaluation():
    values = {"a.b": 7, "c.d": 3}
    look = lambda path: values[str(path)]   # noqa: E731
    assert evaluate(parse_expression("${a.b} + ${c.d} * 2"), look) == 13
    assert evaluate(parse_expression("(${a.b} + ${c.d}) * 2"), look) == 20
    assert evaluate(parse_expression("${a.b} // 2 - 1"), look) == 2
    assert evaluate(parse_expression("-${a.b} + 10"), look) == 3
    with pytest.raises(ValueError, match="division by zero"):
        evaluate(parse_expression("${a.b} // 0"), look)


def test_list_literal():
    assert parse_expression("[0, 1, 1, 0]") == Lit([0, 1, 1, 0], 0)


@pytest.mark.parametrize("text,col,message", [
    ("choice(16, 32", 14, "expression 'choice(16, 32' ends too early; expected ')' or ','"),
    ("choice(16 32)", 11, "unexpected '32' in expression 'choice(16 32)'; expected ')', ',' or an "
                          "operator"),
    ("choice(16, )?", 13, "unexpected character '?' in expression 'choice(16, )?'"),
    ("3 +", 4, "expression '3 +' ends too early; expected a number, a reference ${...}, a list or a "
               "call such as choice(...)"),
    ("choice(16, @)", 12, "unexpected character '@' in expression 'choice(16, @)'"),
    ("${a.b} / 2", 8, "'/' is not integer arithmetic"),
    ("${1}", 3, "unexpected '1' in expression '${1}'; expected a name"),
    ("choice(ones=1, 2)", 16, "a positional argument after a keyword argument"),
    ("[${a.b}]", 2, "a list literal holds plain values only, not references or calls"),
])
def test_error_positions_inside_the_string(text, col, message):
    with pytest.raises(FgirError) as info:
        parse_expression(text, Source(Loc("s.yaml", 4, 10), "\n\n\n" + " " * 9 + text))
    assert (info.value.line, info.value.column) == (4, 9 + col)
    assert info.value.message == message


def test_quoted_scalars_shift_by_the_quote():
    text = 'a:\n  b: "choice(1, @)"\n'
    with pytest.raises(FgirError) as info:
        parse_expression("choice(1, @)", Source(Loc("s.yaml", 2, 6), text))
    assert str(info.value) == "s.yaml:2:17: error: unexpected character '@' in expression 'choice(1, @)'"


def test_bad_path():
    with pytest.raises(FgirError) as info:
        parse_path("a..b")
    assert info.value.message == "unexpected '.' in path 'a..b'; expected a name"
    assert info.value.column == 3


def test_errors_in_a_spec_file_point_at_the_yaml(write_spec):
    from fgir.search import Space

    spec = write_spec("""
        search_space:
          hyper_parameters:
            init.init_plane: choice(16, 32
            layer.inchannel: "${init.init_plane} / 2"
          modules: [init, layer]
          init: {type: SmallInputInitialBlock, init_plane: 16}
          layer: {type: BasicBlock, inchannel: 16, outchannel: 16}
        """)
    with pytest.raises(FgirError) as info:
        Space.from_spec(spec)
    assert [str(d) for d in info.value.diagnostics] == [
        f"{spec}:3:35: error: hyper_parameters.init.init_plane: expression 'choice(16, 32' ends too "
        "early; expected ')' or ','",
        f"{spec}:4:42: error: hyper_parameters.layer.inchannel: '/' is not integer arithmetic\n"
        f"{spec}:4:42: note: write '//' to divide integers",
    ]
