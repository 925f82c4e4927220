"""The IR keeps itself consistent: references and users, the editing API, verify(), pass contracts."""

import io

import pytest

import fgir
from conftest import EXAMPLES, GUIDE_ERRORS, NEEDS_CHECKPOINT, NEEDS_PLUGIN, run_fgir
from fgir.ir.graph import Graph, Node
from fgir.ir.verify import IRError
from fgir.passes import InternalError, PassManager, default_passes, graph_pass


def small() -> tuple[Graph, Node, Node, Node]:
    g = Graph()
    x = g.add_input()
    a = g.add("a", "relu", [x])
    b = g.add("b", "relu", [a])
    g.set_output(b)
    return g, x, a, b


def test_inputs_are_nodes_and_users_are_kept():
    g, x, a, b = small()
    assert a.inputs == (x,) and x.users == [a] and a.users == [b] and b.users == []
    g.verify()


def test_a_node_links_back_weakly_so_it_does_not_keep_its_graph_alive():
    g, x, a, b = small()
    assert b.graph is g and a.users == [b]
    del g
    assert b.graph is None and b.inputs == (a,) and a.users == [b]   # what a node reads stays: inputs are strong


def test_a_graph_pickles_and_deep_copies_whole():
    import copy
    import pickle

    graph = fgir.compile(EXAMPLES / "resnet50.yaml")    # 176 nodes: linked node to node, it hit the recursion limit
    for twin in (pickle.loads(pickle.dumps(graph)), copy.deepcopy(graph)):
        assert twin == graph and twin["fc"].origin == graph["fc"].origin and twin["fc"] is not graph["fc"]
        twin.verify()


def test_insert_replace_and_erase_keep_users_in_step():
    g, x, a, b = small()
    mid = g.insert_before(b, Node("mid", "identity", inputs=[a]))
    b.replace_input(a, mid)
    assert [n.name for n in g] == ["input", "a", "mid", "b"]
    assert a.users == [mid] and mid.users == [b]
    g.verify()
    g.replace_all_uses(mid, a)
    g.erase(mid)
    assert [n.name for n in g] == ["input", "a", "b"] and a.users == [b]
    g.verify()


def test_erasing_a_node_that_is_read_is_refused():
    g, x, a, b = small()
    with pytest.raises(ValueError, match="cannot erase 'a': read by b"):
        g.erase(a)
    with pytest.raises(ValueError, match="read by the graph output"):
        g.erase(b)


def test_a_node_cannot_read_one_defined_after_it():
    g, x, a, b = small()
    with pytest.raises(ValueError, match="reads 'b', which is not defined before it"):
        g.insert_before(b, Node("early", "relu", inputs=[b]))


def test_attributes_are_completed_from_the_schema():
    g = Graph()
    conv = g.add("c", "conv2d", [g.add_input()], {"out_channels": 8, "kernel_size": [3, 3]})
    assert conv.attrs == {"in_channels": None, "out_channels": 8, "kernel_size": [3, 3], "stride": [1, 1],
                          "padding": [0, 0], "dilation": [1, 1], "groups": 1, "bias": True}
    with pytest.raises(ValueError, match="op 'relu' has no attribute 'slope'"):
        g.add("r", "relu", [conv], {"slope": 0.1})


@pytest.mark.parametrize("break_it, message", [
    (lambda g, x, a, b: a.attrs.update(bogus=1), "node 'a' (relu): unknown attribute 'bogus'"),
    (lambda g, x, a, b: setattr(a, "_inputs", (b,)), "node 'a' (relu): reads 'b', which comes after it"),
    (lambda g, x, a, b: a._users.clear(), "node 'b' (relu): missing from the users of 'a'"),
    (lambda g, x, a, b: setattr(b, "op", "relux"), "node 'b' (relux): no op schema is named 'relux'"),
    (lambda g, x, a, b: g.properties.add("shapes"), "node 'input' (input): has no type, though shapes"),
])
def test_verify_names_the_broken_invariant(break_it, message):
    g, x, a, b = small()
    break_it(g, x, a, b)
    with pytest.raises(IRError) as info:
        g.verify()
    assert any(problem.startswith(message) for problem in info.value.problems), info.value.problems


def test_compile_leaves_the_callers_graph_as_it_was():
    graph = fgir.load(EXAMPLES / "variant_layer.yaml")
    before = graph.to_json()
    compiled = fgir.compile(graph)
    assert graph.to_json() == before and not graph.is_lowered
    assert compiled.is_lowered and compiled.meta["params"] == fgir.compile(EXAMPLES / "variant_layer.yaml").meta["params"]


def test_pass_manager_runs_in_place_on_the_graph_it_is_given():
    graph = fgir.load(EXAMPLES / "resnet20_cifar.yaml")
    assert PassManager(default_passes()).run(graph) is graph and graph.is_lowered


def test_a_pass_that_does_not_provide_what_it_says_is_an_internal_error():
    @graph_pass("fake_shapes", requires={"lowered"}, provides={"shapes"})
    def fake_shapes(graph, ctx):
        pass

    with pytest.raises(InternalError) as info:
        fgir.compile(EXAMPLES / "resnet20_cifar.yaml", passes=default_passes()[:2] + [fake_shapes])
    assert info.value.pass_name == "fake_shapes"
    assert "does not provide 'shapes': 'input' has no type" in str(info.value)


def test_verify_after_every_pass_catches_a_pass_that_breaks_the_ir():
    @graph_pass("drop_users", requires={"lowered"})
    def drop_users(graph, ctx):
        graph["conv1"]._users.clear()

    with pytest.raises(InternalError, match="missing from the users of 'conv1'"):
        fgir.compile(EXAMPLES / "resnet20_cifar.yaml", passes=default_passes() + [drop_users], verify=True)
    # not verifying, the same pass goes unnoticed: the check is what catches it
    fgir.compile(EXAMPLES / "resnet20_cifar.yaml", passes=default_passes() + [drop_users], verify=False)


def test_the_cli_verifies_on_request():
    result = run_fgir("check", "--verify", "examples/resnet50.yaml")
    assert result.returncode == 0 and "ok: " in result.stdout


def test_every_example_verifies_after_every_pass():
    for path in sorted(EXAMPLES.glob("*.yaml")):
        if path.name in NEEDS_PLUGIN | GUIDE_ERRORS | NEEDS_CHECKPOINT:
            continue
        seen = []
        fgir.compile(path, verify=True, dump_after="all", dump_to=lambda name, graph: seen.append(graph.verify()))
        assert len(seen) == len(default_passes())


def test_dump_of_a_graph_shows_inputs_by_name():
    out = io.StringIO()
    fgir.compile(EXAMPLES / "resnet20_cifar.yaml", dump_after=["lower_blocks"], dump_to=out)
    assert "%layer1.0.conv2 = conv2d(%layer1.0.relu)" in out.getvalue()
