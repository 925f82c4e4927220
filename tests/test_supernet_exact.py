"""The supernet computes each candidate exactly: 50 random candidates of each example space equal their
extracted standalone models in torch, a few of them in ONNX Runtime too, and a choice's own weights are
the ones its active value uses."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import fgir  # noqa: E402
from fgir.supernet import SupernetModule, build_supernet  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples/search"
SPACES = {"mobilenet": "supernet_mobilenet.yaml", "nasbench201": "supernet_nasbench201.yaml"}
KINDS = {"mobilenet": {"depth", "width", "kernel", "op"}, "nasbench201": {"choice", "width"}}


def noisy(module: SupernetModule) -> SupernetModule:
    """BN statistics that matter (an identity BN would hide a wrong slice), and own weights that differ."""
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for part in (module.shared, module.alternatives):
            for name, buffer in part.named_buffers():
                if name.endswith("running_mean"):
                    buffer.copy_(torch.randn(buffer.shape, generator=gen) * 0.5)
                elif name.endswith("running_var"):
                    buffer.copy_(torch.rand(buffer.shape, generator=gen) * 1.5 + 0.5)
    return module.eval()


@pytest.fixture(scope="module", params=sorted(SPACES))
def net(request):
    torch.set_num_threads(1)
    module = noisy(SupernetModule(build_supernet(EXAMPLES / SPACES[request.param]), seed=0))
    module.space_name = request.param
    return module


def test_every_kind_of_dimension_is_in_the_example_spaces(net):
    assert {p.kind for p in net.ir.points.values()} == KINDS[net.space_name]
    assert all(p.shares == (p.kind != "choice") for p in net.ir.points.values())


def test_fifty_random_candidates_equal_their_extracted_models(net):
    rng, x = random.Random(0), torch.randn(3, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    samples = [net.ir.largest, net.ir.smallest] + [net.ir.space.sample(rng) for _ in range(48)]
    worst, spread, first, seen = 0.0, 0.0, None, {key: set() for key in net.ir.space.keys}
    for i, sample in enumerate(samples):
        net.set_candidate(sample)
        spec, state = net.extract()
        alone = fgir.to_torch(fgir.loads(spec))
        alone.load_state_dict(state)
        with torch.no_grad():
            a, b = alone.eval()(x), net(x)
        assert a.shape == (3, 10)
        first = b if first is None else first
        spread = max(spread, float((b - first).abs().max()))
        worst = max(worst, float((a - b).abs().max()))
        for key, value in sample.items():
            seen[key].add(value)
        if i < 5:   # the extracted model is the candidate itself (a few suffice: a compile each)
            assert sum(t.numel() for t in alone.parameters()) == fgir.compile(fgir.loads(spec)).meta["params"]
    assert worst <= 1e-5 and spread > 1e-2   # exact, and the candidates compute different functions
    assert all(len(values) >= 2 for values in seen.values())   # every dimension took several values


def test_extracted_onnx_agrees_with_onnxruntime(net, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    for sample in (net.ir.smallest, net.ir.space.sample(random.Random(7))):
        net.set_candidate(sample)
        spec, state = net.extract()
        torch.save(state, tmp_path / "state.pt")
        fgir.to_onnx(fgir.loads(spec), tmp_path / "sub.onnx", weights=tmp_path / "state.pt")
        session = ort.InferenceSession(str(tmp_path / "sub.onnx"), options, providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
        with torch.no_grad():
            assert abs(got - net(x).numpy()).max() <= 1e-4


def test_a_choice_uses_the_own_weights_of_its_active_value():
    module = noisy(SupernetModule(build_supernet(EXAMPLES / SPACES["nasbench201"]), seed=0))
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    base = dict(module.ir.largest, **{"net.edges[3]": "nor_conv_1x1"})
    outputs = {}
    for op in ("nor_conv_1x1", "nor_conv_3x3", "none"):
        module.set_candidate(dict(base, **{"net.edges[0]": op}))
        with torch.no_grad():
            outputs[op] = module(x).clone()
    conv = module.source("cells.0.layers.0.op.1.weight", dict(base, **{"net.edges[0]": "nor_conv_1x1"}))
    assert conv.shape == (16, 16, 1, 1) and conv is not module.shared.get_parameter("cells.0.layers.0.op.1.weight")
    with torch.no_grad():
        conv.mul_(-1.0)
    for op, before in outputs.items():
        module.set_candidate(dict(base, **{"net.edges[0]": op}))
        with torch.no_grad():
            changed = bool((module(x) - before).abs().max() > 1e-3)
        assert changed == (op == "nor_conv_1x1"), op   # the 1x1 conv's own weights, used by it alone
