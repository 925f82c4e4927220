"""The PyTorch backend: shapes, training, torchvision layout, checkpoints."""

import pickle

import pytest
import torch

import fgir
import reference_resnet
from conftest import EXAMPLES, FIXED_INPUT, NEEDS_CHECKPOINT, NETWORK_EXAMPLES, train_steps
from fgir.diagnostics import FgirError, SpecIOError

def small_input(name: str) -> str | None:
    """ImageNet-size examples run at 64x64 to keep the suite fast; CIFAR-size ones as they are."""
    return "3x64x64" if fgir.compile(EXAMPLES / name).meta["input"][1] > 64 else None


@pytest.mark.parametrize("name", [n for n in NETWORK_EXAMPLES if n not in NEEDS_CHECKPOINT | FIXED_INPUT])
def test_forward_gives_batch_by_classes(name):
    graph = fgir.compile(EXAMPLES / name, input=small_input(name))
    model = fgir.to_torch(graph, seed=0).eval()
    with torch.no_grad():
        out = model(torch.randn(3, *graph.meta["input"]))
    classifier = next(n for n in reversed(list(graph)) if n.op == "linear")
    assert out.shape == (3, classifier.attrs["out_features"])
    # quantizers' learned ranges are not network weights
    weights = sum(p.numel() for name, p in model.named_parameters() if not name.endswith((".alpha", ".low", ".high")))
    assert weights == graph.meta["params"]


def test_user_block_example_compiles_and_runs():
    from fgir.cli import load_plugin

    load_plugin(str(EXAMPLES / "user_blocks" / "searchable_stage.py"))
    graph = fgir.compile(EXAMPLES / "user_block.yaml")
    assert [graph[f"stage.repeat.{i}.conv2"].attrs["out_channels"] for i in range(6)] == \
        [16, 32, 32, 64, 64, 128]
    model = fgir.to_torch(graph, seed=0)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_a_training_step_lowers_the_loss():
    torch.manual_seed(0)
    model = fgir.to_torch(EXAMPLES / "resnet20_cifar.yaml", seed=0).train()
    x, y = torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))
    losses = train_steps(model, x, y, 5)
    assert losses[-1] < losses[0]
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("spec,reference,size", [
    ("resnet18.yaml", reference_resnet.resnet18, 64),
    ("resnet50.yaml", reference_resnet.resnet50, 64),
    ("resnet20_cifar.yaml", reference_resnet.resnet20_cifar, 32),
])
def test_state_dict_is_torchvisions_and_computes_the_same(spec, reference, size):
    model = fgir.to_torch(EXAMPLES / spec, seed=1).eval()
    ref = reference().eval()
    ours, theirs = model.state_dict(), ref.state_dict()
    assert list(ours) == list(theirs)
    assert all(ours[k].shape == theirs[k].shape for k in ours)
    ref.load_state_dict(ours)
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        assert torch.allclose(model(x), ref(x), atol=1e-5, rtol=0)


def test_fine_grained_names_follow_the_modules():
    keys = list(fgir.to_torch(EXAMPLES / "resnet50_fine_grained.yaml").state_dict())
    assert keys[0] == "init.conv1.weight"
    assert "bottlelayer.layer1.0.downsample.0.weight" in keys
    assert keys[-2:] == ["linear.weight", "linear.bias"]


def test_seed_makes_weights_reproducible():
    a = fgir.to_torch(EXAMPLES / "resnet20_cifar.yaml", seed=3).state_dict()
    b = fgir.to_torch(EXAMPLES / "resnet20_cifar.yaml", seed=3).state_dict()
    c = fgir.to_torch(EXAMPLES / "resnet20_cifar.yaml", seed=4).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["conv1.weight"], c["conv1.weight"])


def test_module_moves_across_dtypes_and_devices():
    model = fgir.to_torch(EXAMPLES / "resnet20_cifar.yaml", seed=0).to(torch.float64).eval()
    out = model(torch.randn(1, 3, 32, 32, dtype=torch.float64))
    assert out.dtype == torch.float64
    if torch.cuda.is_available():  # exercised for real by bench/gpu_check.py on a GPU machine
        assert model.to("cuda")(torch.randn(1, 3, 32, 32, dtype=torch.float64, device="cuda")).is_cuda


def test_save_and_load_model_round_trip(tmp_path):
    model = fgir.to_torch(EXAMPLES / "variant_layer.yaml", seed=5).eval()
    path = tmp_path / "model.pt"
    fgir.save_model(model, path)
    again = fgir.load_model(path).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), again(x))
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temporary file left


def test_load_model_refuses_a_malicious_pickle(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"format": "fgir-checkpoint-1", "x": Evil()}, f, protocol=2)
    with pytest.raises(SpecIOError) as info:
        fgir.load_model(path)
    assert not marker.exists()
    assert info.value.message.startswith("not a loadable weights-only checkpoint")


def test_load_model_refuses_a_bare_state_dict(tmp_path):
    path = tmp_path / "bare.pt"
    torch.save(fgir.to_torch(EXAMPLES / "resnet20_cifar.yaml").state_dict(), path)
    with pytest.raises(FgirError) as info:
        fgir.load_model(path)
    assert info.value.message.startswith("not an fgir checkpoint")


def test_load_model_missing_file(tmp_path):
    with pytest.raises(SpecIOError) as info:
        fgir.load_model(tmp_path / "none.pt")
    assert (info.value.file, info.value.message) == (str(tmp_path / "none.pt"), "no such file")
