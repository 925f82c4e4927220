"""The pass manager: requirements, errors naming the pass, IR dumps, user passes."""

import io

import pytest

import fgir
from conftest import EXAMPLES
from fgir.diagnostics import FgirError
from fgir.passes import (CountCost, InferShapes, InternalError, PassManager, PassOrderError,
                         default_passes, graph_pass)


def test_default_pipeline_order_and_properties():
    graph = fgir.compile(EXAMPLES / "resnet20_cifar.yaml")
    assert [p.name for p in default_passes()] == ["expand_repeat", "lower_blocks", "apply_prune",
                                                  "infer_shapes", "check_channels", "apply_quant",
                                                  "count_cost"]
    assert graph.properties == {"repeats_expanded", "lowered", "pruned", "shapes", "channels_checked",
                                "quant_annotated", "cost"}


def test_a_pass_without_its_requirements_is_refused():
    graph = fgir.load(EXAMPLES / "resnet20_cifar.yaml")
    with pytest.raises(PassOrderError) as info:
        PassManager([InferShapes()]).run(graph)
    assert info.value.pass_name == "infer_shapes"
    assert info.value.message == "pass 'infer_shapes' requires lowered, which no earlier pass provided"


def test_user_pass_in_a_few_lines():
    @graph_pass("count_relus", requires={"lowered"}, provides={"relus_counted"})
    def count_relus(graph, ctx):
        graph.meta["relus"] = sum(node.op == "relu" for node in graph)

    graph = fgir.compile(EXAMPLES / "resnet18.yaml", passes=default_passes() + [count_relus])
    assert graph.meta["relus"] == 17  # stem + two per BasicBlock
    assert "relus_counted" in graph.properties


def test_user_pass_reports_spec_errors_with_its_name():
    @graph_pass("no_wide_convs", requires={"shapes"})
    def no_wide_convs(graph, ctx):
        for node in graph:
            if node.op == "conv2d" and node.attrs["out_channels"] > 256:
                ctx.error(node.origin_of("out_channels"), f"'{node.name}' is wider than 256")

    with pytest.raises(FgirError) as info:
        fgir.compile(EXAMPLES / "resnet18.yaml", passes=default_passes() + [no_wide_convs])
    assert info.value.pass_name == "no_wide_convs"
    assert len(info.value.errors) == 5  # layer4's four 3x3 convs and its projection
    assert info.value.message == "'layer4.0.conv1' is wider than 256"


def test_a_crashing_pass_is_an_internal_error_naming_it():
    @graph_pass("broken", requires={"lowered"})
    def broken(graph, ctx):
        raise KeyError("oops")

    with pytest.raises(InternalError) as info:
        fgir.compile(EXAMPLES / "resnet20_cifar.yaml", passes=default_passes()[:2] + [broken])
    assert info.value.pass_name == "broken"
    assert "internal error in pass 'broken'" in str(info.value)


def test_dump_after_a_pass():
    out = io.StringIO()
    fgir.compile(EXAMPLES / "variant_layer.yaml", dump_after=["expand_repeat"], dump_to=out)
    text = out.getvalue()
    assert text.startswith("// IR after expand_repeat\n%input = input()")
    assert "%layer = block:VariantLayer(%init)" in text
    assert "%7 = block:BasicBlock(%6) {inchannel=256, outchannel=512, stride=2, inner_plane=None" in text


def test_dump_after_every_pass_with_a_callback():
    seen = []
    fgir.compile(EXAMPLES / "resnet20_cifar.yaml", dump_after="all",
                 dump_to=lambda name, graph: seen.append((name, len(graph))))
    assert seen == [("expand_repeat", 2), ("lower_blocks", 74), ("apply_prune", 74), ("infer_shapes", 74),
                    ("check_channels", 74), ("apply_quant", 74), ("count_cost", 74)]


def test_dump_after_an_unknown_pass_is_refused():
    with pytest.raises(PassOrderError) as info:
        fgir.compile(EXAMPLES / "resnet20_cifar.yaml", dump_after=["lower_block"])
    assert "--dump-after names no pass of this pipeline: lower_block" in info.value.message


def test_count_cost_needs_checked_channels():
    graph = fgir.load(EXAMPLES / "resnet20_cifar.yaml")
    with pytest.raises(PassOrderError):
        PassManager(default_passes()[:3] + [CountCost()]).run(graph)
