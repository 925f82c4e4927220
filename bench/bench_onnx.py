"""ONNX emission and inference: fgir's direct emitter next to torch.onnx.export of the same module.

Prints, in one run, for ResNet-18, ResNet-50, MobileNetV2, DenseNet-121, ViT-B/16 and ConvNeXt-Tiny
(the examples' specs, 3x224x224, seed-0 weights with random BatchNorm statistics where there are any;
ViT's attention is ONNX Runtime's fused MultiHeadAttention in fgir's model, the exporters' their own):
  * emission time, spec's IR + weights → .onnx file (median): fgir.to_onnx vs
    torch.onnx.export with the dynamo exporter (needs onnxscript: pip install 'fgir[bench]')
    and the legacy TorchScript exporter; target: fgir ≥ 20x faster than dynamo.
  * ONNX Runtime latency, batch 1, a fixed thread count (median; the models take turns, one
    session alive at a time):
    fgir's model vs the torch-exported models of the same weights (target: ratio ≤ 1.0), and
    vs torch eager.
  * the largest difference between fgir's ONNX output and torch eager, as a sanity check.

Every exported model has a dynamic batch dimension, like fgir's.

Run: python bench/bench_onnx.py [--threads N] [--repeat N] [--export-repeat N] [--latency-runs N]
     [--rounds N] [--specs resnet18,mobilenet_v2]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import sys
import tempfile
import warnings
from pathlib import Path

from timing import median_seconds, one_at_a_time, ort_session  # noqa: E402  (bench/ is the script folder)

ROOT = Path(__file__).resolve().parent.parent
SPECS = ("resnet18", "resnet50", "mobilenet_v2", "densenet121", "vit_b_16", "convnext_tiny")
EMIT_TARGET = 20.0       # fgir at least this many times faster than the dynamo exporter
LATENCY_TARGET = 1.0     # fgir's model at most this times the torch-exported one's latency


@contextlib.contextmanager
def quiet():
    """torch's exporters print progress and warnings; keep the table readable."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def torch_exporters(module, shape):
    """name → function writing the module to a path, for each exporter this torch offers."""
    import torch

    example = (torch.randn(2, *shape),)   # batch 2: a batch of 1 would be specialised away

    def dynamo(path):
        batch = torch.export.Dim("N")
        torch.onnx.export(module, example, path, dynamo=True, opset_version=21, input_names=["input"],
                          output_names=["output"], dynamic_shapes={"x": {0: batch}}, verbose=False)

    def legacy(path):
        torch.onnx.export(module, example, path, dynamo=False, opset_version=20,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})

    found = {}
    for name, fn in (("dynamo", dynamo), ("legacy", legacy)):
        try:
            with quiet():
                fn(os.path.join(tempfile.mkdtemp(), "probe.onnx"))
            found[name] = fn
        except Exception as exc:  # an exporter this torch lacks, or onnxscript missing
            print(f"  torch.onnx.export {name}: unavailable ({type(exc).__name__}: "
                  f"{str(exc).splitlines()[0][:120]})")
    return found


def bench_spec(name: str, args, folder: Path) -> dict:
    import numpy as np
    import torch

    import fgir
    from test_onnx_backend import with_bn_statistics   # the tests' weights: BN statistics not trivial

    graph = fgir.compile(ROOT / "examples" / f"{name}.yaml")
    shape = graph.meta["input"]
    module = with_bn_statistics(fgir.to_torch(graph, seed=0))
    row: dict = {"name": name, "input": "x".join(map(str, shape))}

    fgir_path = folder / f"{name}.fgir.onnx"
    row["emit_fgir"] = median_seconds(lambda: fgir.to_onnx(graph, fgir_path, weights=module), args.repeat)
    row["emit_fgir_memory"] = median_seconds(lambda: fgir.to_onnx(graph, weights=module), args.repeat)
    paths = {"fgir": str(fgir_path)}
    for exporter, fn in torch_exporters(module, shape).items():   # each has run once: warm
        path = str(folder / f"{name}.{exporter}.onnx")
        with quiet():
            row[f"emit_{exporter}"] = median_seconds(lambda: fn(path), args.export_repeat, warmup=0)
        paths[exporter] = path

    x = np.random.default_rng(0).standard_normal((1, *shape), np.float32)
    torch.set_num_threads(args.threads)
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
        for kind, path in paths.items():
            row[f"diff_{kind}"] = float(np.abs(ort_session(path, args.threads).run(None, {"input": x})[0]
                                               - want).max())
        row["lat_torch"] = median_seconds(lambda: module(torch.from_numpy(x)), args.latency_runs, warmup=3)
    row.update((f"lat_{kind}", t) for kind, t in
               one_at_a_time(paths, x, args.threads, args.rounds, args.latency_runs).items())
    return row


def ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1e3:,.1f} ms"


def ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None else f"{a / b:,.2f}x"


def report(rows: list[dict], args) -> None:
    import onnx
    import onnxruntime
    import torch

    print(f"\ntorch {torch.__version__}, onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}; "
          f"{os.cpu_count()} CPUs; latency with {args.threads} threads, batch 1\n")
    print("Emission, spec IR + weights → .onnx file (median)")
    print(f"{'model':<13} {'fgir':>10} {'fgir (no write)':>16} {'dynamo':>11} {'legacy':>11} "
          f"{'dynamo/fgir':>12} {'legacy/fgir':>12}")
    for r in rows:
        print(f"{r['name']:<13} {ms(r['emit_fgir']):>10} {ms(r['emit_fgir_memory']):>16} "
              f"{ms(r.get('emit_dynamo')):>11} {ms(r.get('emit_legacy')):>11} "
              f"{ratio(r.get('emit_dynamo'), r['emit_fgir']):>12} "
              f"{ratio(r.get('emit_legacy'), r['emit_fgir']):>12}")
    print("\nInference latency, batch 1 (median); ratios are fgir's model over the other")
    print(f"{'model':<13} {'ORT fgir':>10} {'ORT dynamo':>11} {'ORT legacy':>11} {'torch eager':>12} "
          f"{'fgir/dynamo':>12} {'fgir/legacy':>12} {'fgir/eager':>11} {'max|fgir-eager|':>16}")
    for r in rows:
        print(f"{r['name']:<13} {ms(r['lat_fgir']):>10} {ms(r.get('lat_dynamo')):>11} "
              f"{ms(r.get('lat_legacy')):>11} {ms(r['lat_torch']):>12} "
              f"{ratio(r['lat_fgir'], r.get('lat_dynamo')):>12} "
              f"{ratio(r['lat_fgir'], r.get('lat_legacy')):>12} {ratio(r['lat_fgir'], r['lat_torch']):>11} "
              f"{r['diff_fgir']:>16.2e}")
    print("\nTargets")
    for r in rows:
        dynamo, lat = r.get("emit_dynamo"), r.get("lat_dynamo")
        if dynamo is None:
            print(f"  {r['name']}: emission vs dynamo: not measured (dynamo exporter unavailable)")
        else:
            speedup = dynamo / r["emit_fgir"]
            verdict = "met" if speedup >= EMIT_TARGET else "MISSED"
            print(f"  {r['name']}: emission {speedup:,.1f}x faster than dynamo "
                  f"(target ≥ {EMIT_TARGET:.0f}x): {verdict}")
        if lat is not None:
            rel = r["lat_fgir"] / lat
            verdict = "met" if rel <= LATENCY_TARGET else "MISSED"
            print(f"  {r['name']}: ORT latency {rel:.2f}x the dynamo-exported model's "
                  f"(target ≤ {LATENCY_TARGET:.1f}): {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=min(4, os.cpu_count() or 1),
                        help="ONNX Runtime intra-op threads and torch threads for latency")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of fgir's emission")
    parser.add_argument("--export-repeat", type=int, default=3, help="timed runs of each torch exporter")
    parser.add_argument("--latency-runs", type=int, default=20, help="timed inference runs per round")
    parser.add_argument("--rounds", type=int, default=5, help="turns each ONNX model takes")
    parser.add_argument("--specs", default=",".join(SPECS), help="examples to run, comma separated")
    args = parser.parse_args()
    logging.getLogger("torch").setLevel(logging.ERROR)
    sys.path.insert(0, str(ROOT / "tests"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.specs.split(","):
            print(f"benchmarking {name} ...", flush=True)
            rows.append(bench_spec(name, args, Path(tmp)))
    report(rows, args)


if __name__ == "__main__":
    main()
