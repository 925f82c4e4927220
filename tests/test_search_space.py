"""Search spaces: hyper_parameters read by the target's type, sampled, mutated, frozen into specs."""

import random
import textwrap

import pytest

import fgir
from conftest import EXAMPLES
from fgir.diagnostics import FgirError
from fgir.search import Space
from fgir.search.domains import Choice, Code, IntRange, Uniform

VARIANT = """
    search_space:
      type: FineGrainedSpace
      hyper_parameters:
        {hp}
      modules: [init, layer, head]
      init: {{type: SmallInputInitialBlock, init_plane: 32}}
      layer:
        type: VariantLayer
        block: {{type: BasicBlock}}
        in_plane: 32
        out_plane: 512
        doublechannel: [0, 1, 1, 0, 1, 0, 0, 1]
        downsample: [1, 1, 0, 1, 0, 0, 0, 1]
        expansion: 1
      head: {{type: LinearClassificationHead, base_channel: 512, num_class: 10}}
    """


def space_of(hp: str) -> Space:
    return Space.from_text(textwrap.dedent(VARIANT.format(hp=hp)).lstrip(), "spec.yaml")


def errors_of(hp: str) -> list[str]:
    with pytest.raises(FgirError) as info:
        space_of(hp)
    return [str(d) for d in info.value.diagnostics]


def test_guide_space_is_two_codes_keeping_their_count_of_ones():
    space = Space.from_spec(EXAMPLES / "backbone_nas.yaml")
    assert [(d.key, repr(d.domain)) for d in space.dimensions] == [
        ("layer.doublechannel", "code(8, ones=4)"), ("layer.downsample", "code(8, ones=4)")]
    assert space.size() == 70 * 70
    assert space.initial(random.Random(0)) == {"layer.doublechannel": [0, 1, 1, 0, 1, 0, 0, 1],
                                               "layer.downsample": [1, 1, 0, 1, 0, 0, 0, 1]}
    rng = random.Random(1)
    for _ in range(200):
        sample, moves = space.mutate(space.sample(rng), rng)
        assert sum(sample["layer.doublechannel"]) == sum(sample["layer.downsample"]) == 4
        assert moves.split(":")[1] in ("move", "swap")


def test_scalar_targets_take_lists_as_candidates_and_domains():
    space = space_of("init.init_plane: [16, 32]\n"
                     "        head.num_class: choice(10, 12)\n"
                     "        layer.block.groups: range(1, 2)\n"
                     "        layer.doublechannel: code(ones=4)")
    domains = {d.key: d.domain for d in space.dimensions}
    assert isinstance(domains["init.init_plane"], Choice) and domains["init.init_plane"].options == [16, 32]
    assert domains["head.num_class"].options == [10, 12]
    assert isinstance(domains["layer.block.groups"], IntRange)
    assert repr(domains["layer.doublechannel"]) == "code(8, ones=4)"


def test_range_is_inclusive_and_uniform_is_continuous():
    assert list(IntRange(1, 8).grid()) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert list(IntRange(2, 9, 3).grid()) == [2, 5, 8]
    assert Uniform(0.1, 0.5).size() is None
    assert Code(4).size() == 16 and Code(4, ones=2).size() == 6
    assert len({tuple(c) for c in Code(4, ones=2).grid()}) == 6


def test_free_codes_add_and_remove_ones():
    rng = random.Random(0)
    moves = {Code(6).mutate([0, 1, 1, 0, 0, 1], rng)[1] for _ in range(100)}
    assert moves == {"move", "swap", "add", "remove"}


def test_frozen_spec_compiles_and_drops_the_search_sections():
    space = Space.from_spec(EXAMPLES / "backbone_nas.yaml")
    sample = {"layer.doublechannel": [1, 1, 1, 1, 0, 0, 0, 0], "layer.downsample": [0, 0, 0, 0, 1, 1, 1, 1]}
    text = space.freeze(sample)
    assert "hyper_parameters" not in text and "search_algorithm" not in text
    assert "doublechannel: [1, 1, 1, 1, 0, 0, 0, 0]" in text
    graph = fgir.compile(fgir.loads(text))
    assert graph["layer.repeat.3.conv2"].attrs["out_channels"] == 512


def test_derived_values_follow_the_sample():
    space = space_of("head.base_channel: ${layer.out_plane}\n"   # computed after what it reads
                     "        init.init_plane: choice(16, 32)\n"
                     "        layer.in_plane: ${init.init_plane}\n"
                     "        layer.out_plane: ${init.init_plane} * 16")
    assert [d.key for d in space.dimensions] == ["init.init_plane"]
    for width in (16, 32):
        graph = fgir.compile(fgir.loads(space.freeze({"init.init_plane": width})))
        assert graph["head.linear"].attrs["in_features"] == width * 16
    assert space.resolve({"init.init_plane": 16}) == {"init.init_plane": 16, "layer.in_plane": 16,
                                                      "layer.out_plane": 256, "head.base_channel": 256}


def test_each_element_of_a_bit_list():
    space = Space.from_text((EXAMPLES / "search" / "quant_resnet20.yaml").read_text(), "q.yaml")
    assert len(space.dimensions) == 40
    assert space.dimensions[3].key == "process.nbit_w_list[3]"
    assert space.dimensions[3].domain.options == [2, 4, 8]
    assert space.dimensions[3].initial == 4


def test_prune_masks_are_codes_too():
    text = (EXAMPLES / "prune_resnet20_guide.yaml").read_text().replace(
        "modules:", "hyper_parameters:\n            process.chn_mask[*]: code()\n"
                    "            process.chn_node_mask[0]: [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]\n"
                    "        modules:", 1)
    space = Space.from_text(text, "p.yaml")
    assert [repr(d.domain) for d in space.dimensions[:2]] == ["code(12)", "code(12)"]
    assert repr(space.dimensions[-1].domain) == "code(12, ones=2)"
    assert len(space.dimensions) == 13


@pytest.mark.parametrize("hp,expected", [
    ("layer.doublechanel: [0, 1, 1, 0, 1, 0, 0, 1]",
     ["spec.yaml:4:11: error: hyper_parameters.layer.doublechanel: VariantLayer 'layer' has no argument "
      "'doublechanel'\nspec.yaml:4:11: note: did you mean 'doublechannel'?"]),
    ("lyer.downsample: [1, 0]",
     ["spec.yaml:4:5: error: hyper_parameters.lyer.downsample: no module 'lyer' in this search space\n"
      "spec.yaml:4:5: note: did you mean 'layer'?"]),
    ("layer.downsample[8]: [0, 1]",
     ["spec.yaml:4:21: error: hyper_parameters.layer.downsample[8]: index 8 is out of range: "
      "'layer.downsample' has 8 values"]),
    ("layer.block.grups: [1, 2]",
     ["spec.yaml:4:17: error: hyper_parameters.layer.block.grups: BasicBlock 'layer.block' has no "
      "argument 'grups'\nspec.yaml:4:17: note: did you mean 'groups'?"]),
    ("head.base_channel: ${init.init_plne} * 16",
     ["spec.yaml:4:31: error: hyper_parameters.head.base_channel: SmallInputInitialBlock 'init' has no "
      "argument 'init_plne'\nspec.yaml:4:31: note: did you mean 'init_plane'?"]),
])
def test_paths_that_do_not_exist(hp, expected):
    assert errors_of(hp) == expected


@pytest.mark.parametrize("hp,expected", [
    ("init.init_plane: code(8, ones=4)",
     "spec.yaml:4:22: error: hyper_parameters.init.init_plane: code(8, ones=4) does not fit "
     "init.init_plane, which takes a positive integer"),
    ("init.init_plane: uniform(0.1, 0.5)",
     "spec.yaml:4:30: error: hyper_parameters.init.init_plane: uniform(0.1, 0.5) does not fit "
     "init.init_plane: expected a positive integer, got 0.1"),
    ("init.init_plane: choice(16, 32, 0)",
     "spec.yaml:4:37: error: hyper_parameters.init.init_plane: choice candidate 0 does not fit "
     "init.init_plane: expected a positive integer, got 0"),
    ("layer.doublechannel: choice(1, 2)",
     "spec.yaml:4:33: error: hyper_parameters.layer.doublechannel: choice candidate 1 does not fit "
     "layer.doublechannel: expected a list of 0s and 1s, got 1"),
    ("init.init_plane: [16, 'a']",
     "spec.yaml:4:27: error: hyper_parameters.init.init_plane: candidate 'a' does not fit init.init_plane: "
     "expected a positive integer, got 'a'"),
    ("layer.doublechannel: [0, 1, 1]",
     "spec.yaml:4:26: error: hyper_parameters.layer.doublechannel: an initial code of 3 values for "
     "layer.doublechannel, which holds 8\nspec.yaml:4:26: note: an initial code has the target's length; "
     "write code(n, ones=k) to search another length"),
    ("init.init_plane: chioce(16, 32)",
     "spec.yaml:4:22: error: hyper_parameters.init.init_plane: unknown domain 'chioce'\n"
     "spec.yaml:4:22: note: did you mean 'choice'?"),
])
def test_domains_that_do_not_fit_the_type(hp, expected):
    assert errors_of(hp) == [expected]


@pytest.mark.parametrize("hp,expected", [
    ("init.init_plane: choice()",
     "spec.yaml:4:22: error: hyper_parameters.init.init_plane: empty domain: choice() has no candidates "
     "for init.init_plane"),
    ("init.init_plane: []",
     "spec.yaml:4:22: error: hyper_parameters.init.init_plane: empty domain: no candidates for "
     "init.init_plane"),
    ("init.init_plane: range(8, 1)",
     "spec.yaml:4:22: error: hyper_parameters.init.init_plane: empty domain: range(8, 1) holds no "
     "integers (both ends are inclusive)"),
    ("layer.doublechannel: code(4, ones=5)",
     "spec.yaml:4:26: error: hyper_parameters.layer.doublechannel: empty domain: a code of length 4 "
     "cannot hold 5 ones"),
    ("layer.out_plane: uniform(2, 2)",
     "spec.yaml:4:22: error: hyper_parameters.layer.out_plane: empty domain: uniform(2, 2) holds no "
     "numbers (low must be below high)"),
])
def test_empty_domains(hp, expected):
    assert errors_of(hp) == [expected]


def test_every_problem_at_once_and_overlaps():
    assert errors_of("layer.downsample: [1, 1, 0, 1, 0, 0, 0, 1]\n"
                     "        layer.downsample[2]: [0, 1]\n"
                     "        init.init_plane: choice()") == [
        "spec.yaml:5:26: error: hyper_parameters.layer.downsample[2]: layer.downsample[2] is set twice "
        "(also by 'layer.downsample')\nspec.yaml:5:26: note: that one is at spec.yaml:4:23",
        "spec.yaml:6:22: error: hyper_parameters.init.init_plane: empty domain: choice() has no "
        "candidates for init.init_plane",
    ]


def test_reference_cycles_are_reported():
    assert errors_of("layer.in_plane: ${init.init_plane}\n"
                     "        init.init_plane: ${layer.in_plane}") == [
        "spec.yaml:4:21: error: hyper_parameters.layer.in_plane: references form a cycle: "
        "layer.in_plane → init.init_plane → layer.in_plane"]


def test_no_hyper_parameters_is_an_error():
    with pytest.raises(FgirError) as info:
        Space.from_spec(EXAMPLES / "resnet20_cifar.yaml")
    assert info.value.message == "the spec has no hyper_parameters: nothing to search"
