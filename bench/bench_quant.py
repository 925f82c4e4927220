"""Quantized models in ONNX Runtime: latency and size against float and against ORT's own quantizer; accuracy.

Prints, in one run:
  * latency of ResNet-18 (3x224x224) and ResNet-20 (3x32x32), the same float weights behind every model:
    fgir float, fgir int8 (integer kernels), fgir 4-bit speed form (4-bit codes in INT8, 8-bit
    activations), fgir 4-bit storage form (INT4 weights run in float), and
    onnxruntime.quantization.quantize_static (QDQ, per-channel, U8S8) calibrated on the same batches;
    at 1 and 2 intra-op threads, batch 1 and 8.  Each ONNX Runtime session runs alone (created, timed,
    closed: an idle session's spinning threads slow the next one), the models taking turns over rounds;
    medians; each ratio against fgir float measured in the same rounds.
  * file sizes, and their ratio to float.
  * accuracy on digits of a ResNet-20 trained in this run (3x32x32, a few epochs): torch float, fgir
    int8 ONNX (post-training, calibrated), quantize_static on the same weights; the share of each
    quantization point's codes torch and ONNX Runtime agree on, and the argmax agreement.
  * ViT and ConvNeXt (--families): latency of fgir float, fgir int8 (convs QLinearConv, linears and
    attention's q/k/v projections MatMulIntegerToFloat; LayerNorm, GELU, softmax, attention float) and
    quantize_static on the same (fresh) weights, calibrated on the same batches; 1 thread, batch 1,
    interleaved one session at a time as above.  vit_s16 is a ViT of the same builder (image 224,
    patch 16, 12 layers of 384, 6 heads, MLP 1536); vit_b16 is ViT-B/16; convnext_tiny ConvNeXt-Tiny.
Targets: fgir int8 <= 0.40x float (ResNet-18), <= 0.65x (ResNet-20); <= 1.05x quantize_static's latency;
the 4-bit speed form within 1.1x of int8; int8 accuracy within 0.5 points of float, not below
quantize_static's; codes >= 99.9% identical per point; argmax >= 99.5%.

Run: python bench/bench_quant.py [--rounds N] [--runs N] [--epochs N] [--specs resnet18,resnet20]
                                 [--families vit_s16,convnext_tiny,vit_b16] [--family-runs N]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from timing import one_at_a_time, ort_session  # noqa: E402  (bench/ is the script folder)

ROOT = Path(__file__).resolve().parent.parent
DEPTHS = {"resnet18": 18, "resnet20": 20}


def spec_text(depth: int, w: int | None = None, a: int | None = None) -> str:
    text = f"search_space:\n  modules: [resnet{', process' if w else ''}]\n  resnet: {{type: ResNet, depth: {depth}}}\n"
    if w:
        text += f"  process: {{type: Quant, nbit_w_list: {w}, nbit_a_list: {a}}}\n"
    return text


def quantize_static_model(float_path: Path, out: Path, batches) -> None:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"input": b.numpy()} for b in batches])

        def get_next(self):
            return next(self.batches, None)

    quantize_static(str(float_path), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)


def models(name: str, folder: Path, module=None, batches=None) -> dict[str, Path]:
    """Every model kind of one network, from the same float weights (fresh with BN statistics unless given)."""
    import torch

    import fgir
    from fgir.testing.weights import randomize_batch_norm

    depth = DEPTHS[name]
    graph = fgir.compile(fgir.loads(spec_text(depth)))
    module = module or randomize_batch_norm(fgir.to_torch(graph, seed=0), 1)
    size = graph.meta["input"]
    batches = batches or [torch.randn(8, *size, generator=torch.Generator().manual_seed(i)) for i in range(4)]
    paths = {"float": folder / f"{name}.float.onnx"}
    fgir.to_onnx(graph, paths["float"], weights=module)
    for kind, (w, a, form) in {"int8": (8, 8, "integer"), "4-bit speed": (4, 8, "integer"),
                               "4-bit storage": (4, 8, "storage")}.items():
        quant = fgir.compile(fgir.loads(spec_text(depth, w, a)))
        paths[kind] = folder / f"{name}.{kind.replace(' ', '_')}.onnx"
        fgir.to_onnx(quant, paths[kind], weights=module, calibrate=batches, form=form)
    paths["quantize_static"] = folder / f"{name}.quantize_static.onnx"
    quantize_static_model(paths["float"], paths["quantize_static"], batches)
    return paths


def bench_latency(name: str, folder: Path, args) -> None:
    import numpy as np

    paths = models(name, folder)
    shape = (3, 224, 224) if name == "resnet18" else (3, 32, 32)
    print(f"\n{name}: file size")
    for kind, path in paths.items():
        print(f"  {kind:<16} {path.stat().st_size / 1e6:8.2f} MB  {path.stat().st_size / paths['float'].stat().st_size:6.3f}x")
    for threads in (1, 2):
        for batch in (1, 8):
            x = np.random.default_rng(0).standard_normal((batch, *shape)).astype(np.float32)
            medians = one_at_a_time({k: str(p) for k, p in paths.items()}, x, threads, args.rounds, args.runs)
            base, theirs = medians["float"], medians["quantize_static"]
            print(f"{name}: {threads} thread{'s' if threads > 1 else ''}, batch {batch}")
            for kind, t in medians.items():
                print(f"  {kind:<16} {t * 1e3:8.2f} ms  {t / base:6.3f}x float  {t / theirs:6.3f}x quantize_static"
                      + (f"  {t / medians['int8']:6.3f}x int8" if kind.startswith("4-bit") else ""))


FAMILIES = {
    "vit_s16": "{type: VisionTransformer, variant: b_16, num_layers: 12, num_heads: 6, hidden_dim: 384, "
               "mlp_dim: 1536}",
    "vit_b16": "{type: VisionTransformer, variant: b_16}",
    "convnext_tiny": "{type: ConvNeXt, variant: tiny}",
}


def family_spec(name: str, quant: bool) -> str:
    text = f"search_space:\n  modules: [net{', quant' if quant else ''}]\n  net: {FAMILIES[name]}\n"
    return text + ("  quant: {type: Quant, nbit_w_list: 8, nbit_a_list: 8}\n" if quant else "")


def bench_family(name: str, folder: Path, args) -> None:
    """Float, fgir int8 and quantize_static of one ViT or ConvNeXt (fresh weights), 1 thread, batch 1."""
    import collections

    import numpy as np
    import onnx
    import onnxruntime as ort
    import torch

    import fgir

    graph = fgir.compile(fgir.loads(family_spec(name, False)))
    module = fgir.to_torch(graph, seed=0).eval()
    batches = [torch.randn(4, *graph.meta["input"], generator=torch.Generator().manual_seed(i)) for i in range(2)]
    paths = {"float": folder / f"{name}.float.onnx", "int8": folder / f"{name}.int8.onnx",
             "quantize_static": folder / f"{name}.quantize_static.onnx"}
    fgir.to_onnx(graph, paths["float"], weights=module)
    start = time.perf_counter()
    fgir.to_onnx(fgir.compile(fgir.loads(family_spec(name, True))), paths["int8"], weights=module,
                 calibrate=batches)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    logging.getLogger().setLevel(logging.ERROR)   # its warnings on the ops it leaves float (attention)
    quantize_static_model(paths["float"], paths["quantize_static"], batches)
    theirs = time.perf_counter() - start
    print(f"\n{name}: {graph.meta['params']:,} params; fgir int8 export with calibration {ours:.1f} s, "
          f"quantize_static {theirs:.1f} s")
    for kind in ("int8", "quantize_static"):    # the integer kernels ONNX Runtime really runs
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.optimized_model_filepath = str(folder / f"{name}.{kind}.optimized.onnx")
        ort.InferenceSession(str(paths[kind]), options, providers=["CPUExecutionProvider"])
        ops = collections.Counter(n.op_type for n in onnx.load(options.optimized_model_filepath).graph.node)
        print(f"  {kind:<16} ORT runs " + ", ".join(f"{op} {ops[op]}" for op in sorted(ops) if op in INTEGER_OPS
                                                    or op in ("MatMul", "Gemm", "Conv", "FusedConv")))
    x = np.random.default_rng(0).standard_normal((1, *graph.meta["input"])).astype(np.float32)
    medians = one_at_a_time({k: str(p) for k, p in paths.items()}, x, 1, args.rounds, args.family_runs)
    print(f"{name}: 1 thread, batch 1")
    for kind, t in medians.items():
        print(f"  {kind:<16} {t * 1e3:8.2f} ms  {t / medians['float']:6.3f}x float  "
              f"{t / medians['quantize_static']:6.3f}x quantize_static")


INTEGER_OPS = ("QLinearConv", "QLinearMatMul", "MatMulIntegerToFloat", "MatMulInteger", "QGemm", "QLinearAdd",
               "DynamicQuantizeMatMul")


def bench_accuracy(folder: Path, args) -> None:
    """A ResNet-20 trained by fgir train on digits, quantized after training (fgir, and ORT's quantizer)."""
    import numpy as np
    import torch

    import fgir
    from fgir.backends.torch.calibrate import calibrate
    from fgir.data import calibration_batches, load_images, split
    from quant_parity import code_agreement, layerwise_code_agreement

    dims = (3, 32, 32)
    start = time.perf_counter()
    spec = folder / "resnet20.yaml"
    spec.write_text(spec_text(20))
    fgir.train(spec, folder / "float.pt", data="digits", epochs=args.epochs, seed=0, progress=None)
    model = fgir.load_model(folder / "float.pt").eval()
    trained = time.perf_counter() - start
    held_out = split(load_images("digits", dims), 0.2)[1]    # fgir train's validation split
    x, y = held_out.x, held_out.y.numpy()
    with torch.no_grad():
        float_acc = float((model(x).argmax(1).numpy() == y).mean())
    calibration = calibration_batches("digits", dims, 8)     # what --calibrate 8 uses
    quant = fgir.compile(fgir.loads(spec_text(20, 8, 8)))
    qmodule = fgir.to_torch(quant)
    qmodule.load_state_dict(model.state_dict(), strict=False)    # the float weights; ranges from calibration
    calibrate(qmodule, calibration, method=args.calibration)
    qmodel = fgir.to_onnx(quant, folder / "q.onnx", weights=qmodule.eval())
    fgir.to_onnx(fgir.compile(fgir.loads(spec_text(20))), folder / "f.onnx", weights=model)
    quantize_static_model(folder / "f.onnx", folder / "qs.onnx", calibration)

    def ort_accuracy(path: Path) -> float:
        out = ort_session(str(path), 2).run(None, {"input": x.numpy()})[0]
        return float((out.argmax(1) == y).mean())

    qat_spec = folder / "resnet20_int8.yaml"     # QAT: one epoch of fgir train from the float weights
    qat_spec.write_text(spec_text(20, 8, 8))
    fgir.train(qat_spec, folder / "qat.pt", data="digits", epochs=1, lr=0.01, weights=folder / "float.pt",
               seed=0, progress=None)
    fgir.to_onnx(quant, folder / "qat.onnx", weights=folder / "qat.pt")
    _, want, got = code_agreement(quant, qmodule, qmodel, x.numpy())
    layerwise = layerwise_code_agreement(quant, qmodule, qmodel, x[:64].numpy())
    print(f"\nResNet-20 on digits (3x32x32; fgir train, {args.epochs} epochs, {trained:.0f} s; {len(y)} held-out images)")
    print(f"  torch float          {float_acc * 100:6.2f}%")
    print(f"  fgir int8 (ORT)      {ort_accuracy(folder / 'q.onnx') * 100:6.2f}%   post-training, "
          f"{len(calibration)} calibration batches of 32, {args.calibration}")
    print(f"  quantize_static      {ort_accuracy(folder / 'qs.onnx') * 100:6.2f}%   the same batches")
    print(f"  fgir int8 QAT (ORT)  {ort_accuracy(folder / 'qat.onnx') * 100:6.2f}%   one more epoch of fgir train, "
          "quantized, from the float weights")
    print(f"  codes identical      {min(layerwise.values()) * 100:6.3f}% at the worst of {len(layerwise)} points "
          f"(each from torch's codes before it), {np.mean(list(layerwise.values())) * 100:.4f}% on average")
    print(f"  argmax agreement     {(want.argmax(1) == got.argmax(1)).mean() * 100:6.2f}% (torch fake-quant vs ORT)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="turns each model gets")
    parser.add_argument("--runs", type=int, default=20, help="timed runs a turn")
    parser.add_argument("--epochs", type=int, default=3, help="training epochs for the accuracy check")
    parser.add_argument("--specs", default=",".join(DEPTHS), help="networks for latency, comma separated")
    parser.add_argument("--families", default="vit_s16,convnext_tiny",
                        help=f"ViT/ConvNeXt networks for latency, comma separated (of {', '.join(FAMILIES)})")
    parser.add_argument("--family-runs", type=int, default=5, help="timed runs a turn for --families")
    parser.add_argument("--calibration", default="percentile", help="fgir's calibration method (minmax, "
                        "percentile, mse) for the accuracy check")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    import onnxruntime

    print(f"onnxruntime {onnxruntime.__version__}; {os.cpu_count()} CPUs; CPUExecutionProvider")
    with tempfile.TemporaryDirectory() as tmp:
        for name in filter(None, args.specs.split(",")):
            bench_latency(name, Path(tmp), args)
        for name in filter(None, args.families.split(",")):
            bench_family(name, Path(tmp), args)
        bench_accuracy(Path(tmp), args)


if __name__ == "__main__":
    main()
