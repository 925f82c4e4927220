"""Low-bit ONNX models: file size and ONNX Runtime latency of float, all-int8, mixed 4/8 and all-int4.

Prints, in one run, for CIFAR ResNet-20 (3x32x32) and ResNet-18 (3x224x224), each
with seed-0 weights and the tests' random BatchNorm statistics:
  * file size of fgir's .onnx (BatchNorm folded), and its ratio to the float model's;
  * ONNX Runtime CPU latency, batch 1, a fixed thread count, default optimisation level
    (median, the models taking turns), and its ratio to the float model's.
Models: float; int8 (every conv but the stem: 8-bit weights and activations); mixed (the
guide's 4/8-bit lists, ResNet-20 only: the guide's ResNet-18 lists do not fit it); int4
(every conv but the stem: 4-bit weights and activations, INT4/UINT4 storage).

Quantized layers run as QuantizeLinear/DequantizeLinear around a float Conv: ONNX Runtime
dequantizes the stored codes at every run (INT4 has no integer conv kernel on the CPU, and
fgir keeps biases out of the Conv so that they are not rounded to int32; see
fgir/backends/onnx_quant.py), so smaller files are expected to be slower, not faster.

Run: python bench/bench_quant.py [--threads N] [--latency-runs N] [--specs resnet20,resnet18]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "examples" / "quant_resnet20.yaml"
DEPTHS = {"resnet20": 20, "resnet18": 18}


def spec_text(depth: int, bits: int | None) -> str:
    modules = "resnet, process" if bits else "resnet"
    text = f"search_space:\n  modules: [{modules}]\n  resnet: {{type: ResNet, depth: {depth}}}\n"
    if bits:
        text += f"  process: {{type: Quant, nbit_w_list: {bits}, nbit_a_list: {bits}}}\n"
    return text


def variants(name: str) -> dict[str, str | Path]:
    """model kind → spec text or file."""
    depth = DEPTHS[name]
    kinds: dict[str, str | Path] = {"float": spec_text(depth, None), "int8": spec_text(depth, 8)}
    if name == "resnet20":
        kinds["mixed 4/8"] = GUIDE
    kinds["int4"] = spec_text(depth, 4)
    return kinds


def bench_network(name: str, args, folder: Path) -> list[dict]:
    import numpy as np

    import fgir
    from bench_onnx import interleaved_medians, ort_session
    from test_onnx_backend import with_bn_statistics   # the tests' weights: BN statistics not trivial

    rows, runners = [], {}
    x = None
    for kind, spec in variants(name).items():
        graph = fgir.compile(spec if isinstance(spec, Path) else fgir.loads(spec))
        path = folder / f"{name}.{kind.replace(' ', '').replace('/', '_')}.onnx"
        fgir.to_onnx(graph, path, weights=with_bn_statistics(fgir.to_torch(graph, seed=0)))
        if x is None:
            x = np.random.default_rng(0).standard_normal((1, *graph.meta["input"]), np.float32)
        sess = ort_session(str(path), args.threads)
        runners[kind] = lambda sess=sess: sess.run(None, {"input": x})
        rows.append({"name": name, "kind": kind, "bytes": path.stat().st_size})
    latency = interleaved_medians(runners, args.latency_runs)
    for row in rows:
        row["latency"] = latency[row["kind"]]
    return rows


def report(rows: list[dict], args) -> None:
    import onnx
    import onnxruntime

    print(f"\nonnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}; {os.cpu_count()} CPUs; "
          f"latency: CPUExecutionProvider, {args.threads} threads, batch 1, median of {args.latency_runs}\n")
    print(f"{'network':<10} {'model':<10} {'file':>10} {'/float':>7} {'latency':>10} {'/float':>7}")
    for row in rows:
        base = next(r for r in rows if r["name"] == row["name"] and r["kind"] == "float")
        print(f"{row['name']:<10} {row['kind']:<10} {row['bytes'] / 1e6:>8.2f}MB "
              f"{row['bytes'] / base['bytes']:>7.3f} {row['latency'] * 1e3:>8.2f}ms "
              f"{row['latency'] / base['latency']:>7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=min(4, os.cpu_count() or 1),
                        help="ONNX Runtime intra-op threads")
    parser.add_argument("--latency-runs", type=int, default=50, help="timed inference runs of each model")
    parser.add_argument("--specs", default=",".join(DEPTHS), help="networks, comma separated")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT / "bench"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.specs.split(","):
            print(f"benchmarking {name} ...", flush=True)
            rows.extend(bench_network(name, args, Path(tmp)))
    report(rows, args)


if __name__ == "__main__":
    main()
