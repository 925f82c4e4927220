"""GPU check (run only where a CUDA device is present; nothing depends on it).

Trains a compiled CIFAR ResNet-20 for a few hundred steps on CUDA, with and without
autocast (bf16), and reports images/s next to the same network written by hand in
torch (tests/reference_resnet.py), as a ratio.  Then checks that the compiled
module and the hand-written one compute the same thing on the GPU, and, where
fgir's ONNX backend is present, that ONNX Runtime agrees with torch.  Last, it
runs the command a user types, ``fgir train`` on the bundled digits at 3x32x32,
for about ``--steps`` steps with and without ``--amp``, and reports images/s
(the median epoch's, from metrics.jsonl) and the validation accuracy.  And one-shot NAS: a supernet
(examples/search/supernet_mobilenet.yaml) trained a few epochs on the device, a candidate extracted with
its BatchNorm recalibrated, and the supernet's output for it against the extracted model's.

Without a CUDA device only that supernet step runs, reduced, on the CPU (so it can be checked anywhere).

Run: python bench/gpu_check.py [--steps 300] [--batch 128] [--json out.json] [--supernet-only]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import fgir  # noqa: E402
import reference_resnet  # noqa: E402

SPEC = ROOT / "examples" / "resnet20_cifar.yaml"


def train(model: torch.nn.Module, steps: int, batch: int, autocast: bool) -> dict:
    device = torch.device("cuda")
    model = model.to(device).train()
    gen = torch.Generator(device="cpu").manual_seed(0)
    # a fixed pool of batches on the device: the timing measures the model, not data loading
    xs = torch.randn(8, batch, 3, 32, 32, generator=gen).to(device)
    ys = torch.randint(0, 10, (8, batch), generator=gen).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)

    def step(i: int) -> float:
        x, y = xs[i % 8], ys[i % 8]
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    first = step(0).item()
    for i in range(1, 20):
        step(i)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(steps):
        loss = step(i)
    torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    return {"images_per_s": steps * batch / elapsed, "first_loss": first, "last_loss": loss.item()}


def parity(compiled: torch.nn.Module) -> float:
    hand = reference_resnet.resnet20_cifar()
    hand.load_state_dict(compiled.state_dict())
    x = torch.randn(16, 3, 32, 32, device="cuda")
    with torch.no_grad():
        return (compiled.cuda().eval()(x) - hand.cuda().eval()(x)).abs().max().item()


def onnx_parity(seed: int) -> dict:
    if not hasattr(fgir, "to_onnx"):
        return {"skipped": "fgir has no ONNX backend in this checkout"}
    import tempfile

    import numpy as np
    import onnxruntime as ort

    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider")
                 if p in ort.get_available_providers()]
    model = fgir.to_torch(SPEC, seed=seed).eval()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.onnx"
        fgir.to_onnx(fgir.compile(SPEC), path, weights=model.state_dict())
        session = ort.InferenceSession(str(path), providers=providers)
        x = np.random.default_rng(0).standard_normal((8, 3, 32, 32)).astype(np.float32)
        got = session.run(None, {session.get_inputs()[0].name: x})[0]
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    return {"providers": session.get_providers(), "max_abs_diff": float(np.abs(got - want).max())}


DIGITS_TRAIN_IMAGES = 1438        # the bundled digits less fgir train's held-out fifth


def train_cli(steps: int, batch: int, amp: bool) -> dict:
    """`fgir train` on CUDA for about ``steps`` steps; images/s of the median epoch, the last val accuracy."""
    epochs = max(2, round(steps / (DIGITS_TRAIN_IMAGES // batch)))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "m.pt"
        cmd = [sys.executable, "-m", "fgir", "train", str(SPEC), "-o", str(out), "--data", "digits",
               "--input", "3x32x32", "--epochs", str(epochs), "--batch-size", str(batch), "--device", "cuda",
               *(["--amp"] if amp else [])]
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            return {"error": done.stderr.strip().splitlines()[-1:] or done.returncode}
        rows = [json.loads(line) for line in (Path(tmp) / "m.train" / "metrics.jsonl").read_text().splitlines()]
    return {"epochs": epochs, "steps": rows[-1]["step"], "wall_s": round(wall, 1),
            "images_per_s": statistics.median(r["images_per_s"] for r in rows[1:]),
            "val_accuracy": rows[-1]["val_accuracy"]}


def supernet_check(device: str, epochs: int, batch: int) -> dict:
    """Sandwich-train the example supernet on ``device``, extract a random candidate (BN recalibrated on
    4 batches there), and compare the supernet's output for it with the extracted model's."""
    import random

    from fgir.supernet import extract, train_supernet

    space = ROOT / "examples" / "search" / "supernet_mobilenet.yaml"
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = train_supernet(space, Path(tmp) / "super.pt", data="digits", epochs=epochs, batch_size=batch,
                                device=device, progress=None)
        train_s = time.perf_counter() - start
        net = result.model.to(device)
        sample = net.ir.space.sample(random.Random(0))
        x = torch.randn(256, 3, 8, 8, generator=torch.Generator().manual_seed(0)).to(device)
        extract(net, sample, Path(tmp) / "sub.pt", calibrate=[x[i:i + 64] for i in range(0, 256, 64)])
        alone = fgir.load_model(Path(tmp) / "sub.pt").to(device).eval()
        with torch.no_grad():
            diff = (alone(x) - net.eval()(x)).abs().max().item()
    return {"device": device, "epochs": epochs, "steps": result.history[-1]["step"], "train_s": round(train_s, 1),
            "largest_val_accuracy": result.history[-1]["val_accuracy"], "extracted_max_abs_diff": diff}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--supernet-only", action="store_true", help="only the one-shot NAS step")
    args = parser.parse_args()
    if not torch.cuda.is_available() or args.supernet_only:
        cuda = torch.cuda.is_available()
        if not cuda:
            torch.set_num_threads(1)
        run = supernet_check("cuda" if cuda else "cpu", 3 if cuda else 1, 64 if cuda else 256)
        print(f"supernet train + extract: {run}")
        if not cuda:
            print("no CUDA device: the supernet step ran reduced on the CPU; the rest needs a GPU")
        return
    torch.backends.cudnn.benchmark = True
    report = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
              "steps": args.steps, "batch": args.batch, "runs": {}}
    for autocast in (False, True):
        for name, build in (("fgir", lambda: fgir.to_torch(SPEC, seed=0)),
                            ("hand", reference_resnet.resnet20_cifar)):
            torch.manual_seed(0)
            report["runs"][f"{name}{'+bf16' if autocast else ''}"] = train(build(), args.steps,
                                                                           args.batch, autocast)
    report["parity_max_abs_diff"] = parity(fgir.to_torch(SPEC, seed=1))
    report["onnx"] = onnx_parity(seed=2)
    report["fgir_train"] = {"fp32": train_cli(args.steps, args.batch, amp=False),
                            "amp": train_cli(args.steps, args.batch, amp=True)}
    report["supernet"] = supernet_check("cuda", 3, 64)

    print(f"device: {report['device']}, torch {report['torch']}, ResNet-20, batch {args.batch}, "
          f"{args.steps} timed steps")
    print(f"{'run':12} {'images/s':>10} {'first loss':>11} {'last loss':>10}")
    for name, run in report["runs"].items():
        print(f"{name:12} {run['images_per_s']:10.0f} {run['first_loss']:11.3f} {run['last_loss']:10.3f}")
    for suffix in ("", "+bf16"):
        ratio = report["runs"][f"fgir{suffix}"]["images_per_s"] / report["runs"][f"hand{suffix}"]["images_per_s"]
        report[f"ratio{suffix or '_fp32'}"] = ratio
        print(f"fgir / hand-written{suffix or ' (fp32)'}: {ratio:.3f}")
    print(f"compiled vs hand-written outputs on GPU, max abs diff: {report['parity_max_abs_diff']:.2e}")
    print(f"ONNX Runtime vs torch: {report['onnx']}")
    for name, run in report["fgir_train"].items():
        print(f"fgir train --device cuda{' --amp' if name == 'amp' else ''}: {run}")
    print(f"supernet train + extract: {report['supernet']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
