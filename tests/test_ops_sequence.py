"""The sequence ops (what vision transformers need): each against torch.nn with the same weights, and
ONNX Runtime against torch; attention runs as ORT's fused kernel."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import fgir
from fgir.blocks import Block, Width, register_block
from fgir.blocks.layers import Linear
from fgir.blocks.layers_sequence import MatMul, MultiheadAttention, Transpose
from fgir.diagnostics import FgirError

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

SEQ = "10x16"


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def spec(*modules: str) -> str:
    names = [m.split(":")[0].strip() for m in modules]
    body = "\n".join(f"  {m}" for m in modules)
    return f"search_space:\n  type: FineGrainedSpace\n  modules: [{', '.join(names)}]\n{body}\n"


def compiled(text: str, input: str = SEQ):
    return fgir.compile(fgir.loads(text, "s.yaml"), input=input)


def session(model, optimized: str | None = None):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    if optimized:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.optimized_model_filepath = optimized
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def run_both(graph, module, x: torch.Tensor, opset: int = 21, tol: float = 1e-5):
    """torch's output, after checking ONNX Runtime gives the same within ``tol``."""
    module.eval()
    with torch.no_grad():
        want = module(x).numpy()
    s = session(fgir.to_onnx(graph, weights=module, opset=opset))
    got = s.run(None, {s.get_inputs()[0].name: x.numpy()})[0]
    assert got.shape == want.shape and np.abs(got - want).max() <= tol
    return want


def sample(*dims: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(2, *dims, generator=torch.Generator().manual_seed(seed))


def errors(text: str, input: str = SEQ) -> list[str]:
    with pytest.raises(FgirError) as info:
        compiled(text, input)
    return [str(d) for d in info.value.diagnostics]


# -- linear ------------------------------------------------------------------------------------
def test_linear_maps_each_token_as_torch_does_and_lowers_to_matmul():
    graph = compiled(spec("fc: {type: Linear, out_features: 8}"))
    assert str(graph["fc"].type) == "10x8" and graph["fc"].meta["macs"] == 10 * 16 * 8
    module = fgir.to_torch(graph, seed=0)
    ref = nn.Linear(16, 8)
    ref.load_state_dict({k.removeprefix("fc."): v for k, v in module.state_dict().items()})
    x = sample(10, 16)
    assert np.abs(run_both(graph, module, x) - ref(x).detach().numpy()).max() <= 1e-5
    ops = [n.op_type for n in fgir.to_onnx(graph, weights=module).graph.node]
    assert ops == ["MatMul", "Add"]


def test_linear_on_a_flat_vector_is_still_one_gemm():
    graph = compiled(spec("fc: {type: Linear, out_features: 8}"), "16")
    assert str(graph["fc"].type) == "8" and graph["fc"].meta["macs"] == 128
    model = fgir.to_onnx(graph, weights=fgir.to_torch(graph, seed=0))
    assert [(n.op_type, list(n.input)) for n in model.graph.node] == [("Gemm", ["input", "fc.weight", "fc.bias"])]


def test_linear_on_an_image_keeps_its_message():
    assert errors(spec("fc: {type: Linear, out_features: 8}"), "3x4x4") == [
        "s.yaml:4:7: error: fc: linear 'fc' needs a flattened input but gets 3x4x4; add a View or Flatten "
        "before it"]


# -- multi-head attention ----------------------------------------------------------------------
ATTENTION = spec("attn: {type: MultiheadAttention, embed_dim: 16, num_heads: 4}")


def test_attention_is_torchs_multihead_attention_keys_and_all():
    graph = compiled(ATTENTION)
    module = fgir.to_torch(graph, seed=0)
    ref = nn.MultiheadAttention(16, 4, batch_first=True)
    assert sorted(module.attn.state_dict()) == sorted(ref.state_dict()) == [
        "in_proj_bias", "in_proj_weight", "out_proj.bias", "out_proj.weight"]
    ref.load_state_dict(module.attn.state_dict())
    ref.eval()
    assert graph["attn"].meta["params"] == sum(p.numel() for p in ref.parameters()) == 1088
    assert graph["attn"].meta["macs"] == 4 * 10 * 16 ** 2 + 2 * 10 ** 2 * 16
    x = sample(10, 16)
    with torch.no_grad():
        want = ref(x, x, x, need_weights=False)[0].numpy()
    assert np.abs(run_both(graph, module, x) - want).max() <= 1e-5


@pytest.mark.parametrize("opset, fused", [(21, ("com.microsoft", "MultiHeadAttention")), (23, ("", "Attention"))])
def test_attention_runs_as_onnx_runtimes_fused_kernel(tmp_path, opset, fused):
    graph = compiled(ATTENTION)
    module = fgir.to_torch(graph, seed=0).eval()
    model = fgir.to_onnx(graph, weights=module, opset=opset)
    onnx.checker.check_model(model, full_check=True)   # the contrib domain is imported where it is used
    optimized = tmp_path / "optimized.onnx"
    s = session(model, str(optimized))
    x = sample(10, 16)
    with torch.no_grad():
        want = module(x).numpy()
    assert np.abs(s.run(None, {"input": x.numpy()})[0] - want).max() <= 1e-5
    kept = {(n.domain, n.op_type) for n in onnx.load(str(optimized)).graph.node}
    assert fused in kept and ("", "Softmax") not in kept


def test_attention_without_bias():
    graph = compiled(spec("attn: {type: MultiheadAttention, embed_dim: 16, num_heads: 2, bias: false}"))
    module = fgir.to_torch(graph, seed=0)
    assert sorted(module.state_dict()) == ["attn.in_proj_weight", "attn.out_proj.weight"]
    run_both(graph, module, sample(10, 16))


def test_attention_errors_name_both_sizes_at_their_values():
    assert errors(spec("attn: {type: MultiheadAttention, embed_dim: 32, num_heads: 4}")) == [
        "s.yaml:4:47: error: attn.embed_dim: multihead_attention 'attn' expects embed_dim 32 but receives "
        "a token sequence 10x16 (LxD)"]
    assert errors(spec("attn: {type: MultiheadAttention, embed_dim: 16, num_heads: 3}")) == [
        "s.yaml:4:62: error: attn.num_heads: multihead_attention 'attn' has num_heads 3, which does not divide "
        "embed_dim 16"]
    assert errors(ATTENTION, "16x8x8") == [
        "s.yaml:4:9: error: attn: multihead_attention 'attn' needs a token sequence (LxD) but gets an image "
        "16x8x8 (CxHxW)"]


def test_attention_locks_its_embed_dim_and_its_heads_are_a_group():
    from fgir.ir.channel_groups import channel_groups

    graph = compiled(spec("fc: {type: Linear, out_features: 16}",
                          "attn: {type: MultiheadAttention, embed_dim: 16, num_heads: 4}",
                          "out: {type: Linear, out_features: 4}"))
    groups = channel_groups(graph)
    reason = "'attn' (multihead_attention) reads and writes its embed_dim whole: its heads are pruned instead"
    assert [g.locked for g in groups.locked if "fc" in g.producers] == [reason]
    heads = groups.by_name()["attn"]
    assert (heads.width, heads.dense_width, heads.producers, heads.tensors) == (4, 4, ["attn"], ["attn"])


# -- matmul ------------------------------------------------------------------------------------
@register_block(replace=True)
class _Scores(Block):
    """q(x) @ k(x)ᵀ: a matmul of two activations."""

    def constructor(self, dim: Width):
        self.q = Linear(dim, dim)
        self.k = Linear(dim, dim)
        self.t = Transpose(1, 2)
        self.mm = MatMul()

    def forward(self, x):
        return self.mm(self.q(x), self.t(self.k(x)))


def test_matmul_of_two_activations():
    graph = compiled(spec("scores: {type: _Scores, dim: 16}"))
    node = next(n for n in graph if n.op == "matmul")
    assert str(node.type) == "10x10" and node.meta["macs"] == 10 * 16 * 10
    module = fgir.to_torch(graph, seed=0)
    x = sample(10, 16)
    q, k = (module.get_submodule(n.name) for n in graph if n.op == "linear")
    want = torch.matmul(q(x), k(x).transpose(1, 2)).detach().numpy()
    assert np.abs(run_both(graph, module, x) - want).max() <= 1e-5


# -- shape ops ----------------------------------------------------------------------------------
@pytest.mark.parametrize("layer, input, reference", [
    ("{type: Reshape, shape: [4, -1]}", "10x16", lambda x: x.reshape(2, 4, 40)),
    ("{type: Reshape, shape: [16, 2, 5], layout: CHW}", "10x16", lambda x: x.reshape(2, 16, 2, 5)),
    ("{type: Permute, dims: [0, 2, 1]}", "10x16", lambda x: x.permute(0, 2, 1)),
    ("{type: Permute, dims: [0, 2, 3, 1]}", "16x4x6", lambda x: x.permute(0, 2, 3, 1)),
    ("{type: Transpose, dim0: -1, dim1: 1}", "10x16", lambda x: x.transpose(-1, 1)),
    ("{type: Slice, dim: 1, start: 0, end: 1}", "10x16", lambda x: x[:, 0:1]),
    ("{type: Slice, dim: -1, start: 3, end: null, step: 4}", "10x16", lambda x: x[..., 3::4]),
    ("{type: Slice, dim: 1, start: 0, end: 8}", "16x4x4", lambda x: x.chunk(2, dim=1)[0]),
    ("{type: Slice, dim: 1, start: -8, end: null}", "16x4x4", lambda x: x.chunk(2, dim=1)[1]),
    ("{type: ChannelShuffle, groups: 4}", "16x4x4", nn.ChannelShuffle(4)),
])
def test_shape_ops_move_values_as_torch_does(layer, input, reference):
    graph = compiled(spec(f"op: {layer}"), input)
    x = sample(*graph.input.type.dims)
    want = reference(x).numpy()
    got = run_both(graph, fgir.to_torch(graph, seed=0), x)
    assert got.shape == want.shape and np.array_equal(got, want)
    assert graph.meta["params"] == 0 and list(graph["op"].type.dims) == list(want.shape[1:])


def test_shape_op_errors_point_at_the_value():
    assert errors(spec("op: {type: Permute, dims: [1, 0, 2]}")) == [
        "s.yaml:4:29: error: op.dims: permute 'op' moves the batch dim: dims must start with 0 (the batch), "
        "not [1, 0, 2]"]
    assert errors(spec("op: {type: Reshape, shape: [3, -1]}")) == [
        "s.yaml:4:30: error: op.shape: reshape 'op' cannot reshape a token sequence 10x16 (LxD) (160 values) "
        "to 3x-1"]
    assert errors(spec("op: {type: Slice, dim: 0, start: 0, end: 1}")) == [
        "s.yaml:4:26: error: op.dim: slice 'op' has dim 0: the batch dim 0 must stay in place "
        "(a token sequence 10x16 (LxD))"]
    assert errors(spec("op: {type: ChannelShuffle, groups: 3}"), "16x4x4") == [
        "s.yaml:4:38: error: op.groups: channel_shuffle 'op' has groups 3, which does not divide the 16 "
        "channels of an image 16x4x4 (CxHxW)"]


# -- learned tensors ------------------------------------------------------------------------------
def test_class_token_and_position_embedding_as_torchvisions_vit():
    graph = compiled(spec("class_token: {type: ClassToken, embed_dim: 16}",
                          "pos: {type: PositionEmbedding, seq_length: 11, embed_dim: 16}"))
    assert str(graph["pos"].type) == "11x16" and graph.meta["params"] == 16 + 11 * 16
    module = fgir.to_torch(graph, seed=0)
    state = module.state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == {"class_token": (1, 1, 16),
                                                          "pos": (1, 11, 16)}
    with torch.no_grad():
        state["class_token"].normal_()    # torchvision starts it at zero: make it count
    x = sample(10, 16)
    token, pos = state["class_token"], state["pos"]
    want = torch.cat([token.expand(2, -1, -1), x], dim=1) + pos
    assert np.abs(run_both(graph, module, x) - want.numpy()).max() <= 1e-6


@pytest.mark.parametrize("input", ["16x4x4", "10x16"])
def test_layer_scale_is_convnexts(input):
    graph = compiled(spec("layer_scale: {type: LayerScale, dim: 16, init: 0.5}"), input)
    module = fgir.to_torch(graph, seed=0)
    scale = module.state_dict()["layer_scale"]
    assert tuple(scale.shape) == (16, 1, 1) and torch.all(scale == 0.5) and graph.meta["params"] == 16
    with torch.no_grad():
        scale.uniform_(0.5, 1.5)
    x = sample(*graph.input.type.dims)
    want = x * (scale if input == "16x4x4" else scale.flatten())
    assert np.abs(run_both(graph, module, x) - want.numpy()).max() <= 1e-6


def test_learned_tensor_errors():
    assert errors(spec("pos: {type: PositionEmbedding, seq_length: 12, embed_dim: 16}")) == [
        "s.yaml:4:46: error: pos.seq_length: position_embedding 'pos' expects seq_length 12 but receives a "
        "token sequence 10x16 (LxD)"]
    assert errors(spec("tok: {type: ClassToken, embed_dim: 8}")) == [
        "s.yaml:4:38: error: tok.embed_dim: class_token 'tok' expects embed_dim 8 but receives a token "
        "sequence 10x16 (LxD)"]


# -- a ViT encoder layer ----------------------------------------------------------------------------
@register_block(replace=True)
class _EncoderLayer(Block):
    """torchvision's EncoderBlock (dropout 0): x + attn(ln(x)), then + mlp(ln(.))."""

    def constructor(self, hidden_dim: Width, num_heads: Width, mlp_dim: Width):
        from fgir.blocks.layers_vision import GELU, LayerNorm

        self.ln_1 = LayerNorm(hidden_dim, eps=1e-6)
        self.self_attention = MultiheadAttention(hidden_dim, num_heads)
        self.ln_2 = LayerNorm(hidden_dim, eps=1e-6)
        self.mlp_0 = Linear(hidden_dim, mlp_dim)
        self.mlp_1 = GELU()
        self.mlp_3 = Linear(mlp_dim, hidden_dim)

    def forward(self, x):
        x = x + self.self_attention(self.ln_1(x))
        return x + self.mlp_3(self.mlp_1(self.mlp_0(self.ln_2(x))))


class _TorchvisionEncoderBlock(nn.Module):
    """torchvision.models.vision_transformer.EncoderBlock at dropout 0 (torchvision is not installed here)."""

    def __init__(self, num_heads: int, hidden_dim: int, mlp_dim: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(hidden_dim, num_heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(hidden_dim, mlp_dim), nn.GELU(), nn.Dropout(0.0),
                                 nn.Linear(mlp_dim, hidden_dim), nn.Dropout(0.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ln_1(x)
        x = x + self.self_attention(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


def test_a_vit_encoder_layer_matches_torchvisions():
    graph = compiled(spec("layer: {type: _EncoderLayer, hidden_dim: 16, num_heads: 4, mlp_dim: 32}"))
    module = fgir.to_torch(graph, seed=0)
    ref = _TorchvisionEncoderBlock(4, 16, 32).eval()
    state = {k.removeprefix("layer.").replace("mlp_", "mlp."): v for k, v in module.state_dict().items()}
    ref.load_state_dict(state)   # strict: every key torchvision's (but mlp_0 for mlp.0)
    assert graph.meta["params"] == sum(p.numel() for p in ref.parameters())
    x = sample(10, 16)
    with torch.no_grad():
        want = ref(x).numpy()
    assert np.abs(run_both(graph, module, x) - want).max() <= 1e-5
