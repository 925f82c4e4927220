"""Front-end speed: load + expand + check + count, next to building the same model in torch.

Prints, in one run (medians of repeated timings, one process, one thread):
  * ResNet-50: spec text → checked, costed IR (target: under 20 ms)
  * ResNet-18-size spec: analyses per second (target: 1,000/s on one core); the same for
    MobileNetV2, EfficientNet-B0, DenseNet-121, ViT-B/16 and ConvNeXt-Tiny (no target: the families'
    deeper graphs)
  * the same specs built as torch modules (fgir.to_torch) and as hand-written torch
    (tests/reference_*.py, torchvision's layouts), with the ratios.
  * `fgir check` wall time as a fresh process (the command a user types).
  * the largest spec within the documented bounds, 16 stages of 1,024 blocks, against 1 stage: compile
    time must grow linearly.

Run: python bench/bench_core.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from timing import median_seconds  # noqa: E402  (bench/ is the script folder)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    import torch

    import fgir
    import reference_densenet
    import reference_efficientnet
    import reference_mobilenet
    import reference_resnet
    import reference_vit
    import reference_convnext

    torch.set_num_threads(1)
    specs = {name: (ROOT / "examples" / f"{name}.yaml").read_text()
             for name in ("resnet50", "resnet18", "resnet50_fine_grained", "mobilenet_v2", "efficientnet_b0",
                          "densenet121", "vit_b_16", "convnext_tiny")}

    def analyse(name: str) -> Callable[[], object]:
        return lambda: fgir.compile(fgir.loads(specs[name], f"{name}.yaml"))

    rows = []
    for name, reference in (("resnet50", reference_resnet.resnet50),
                            ("resnet50_fine_grained", reference_resnet.resnet50),
                            ("resnet18", reference_resnet.resnet18),
                            ("mobilenet_v2", reference_mobilenet.mobilenet_v2),
                            ("efficientnet_b0", reference_efficientnet.efficientnet),
                            ("densenet121", reference_densenet.densenet),
                            ("vit_b_16", lambda: reference_vit.vit("b_16")),
                            ("convnext_tiny", reference_convnext.convnext_tiny)):
        t_fgir = median_seconds(analyse(name), args.repeat, warmup=2)
        graph = fgir.compile(fgir.loads(specs[name], f"{name}.yaml"))
        t_torch = median_seconds(lambda: fgir.to_torch(graph), max(5, args.repeat // 5), warmup=1)
        t_hand = median_seconds(reference, max(5, args.repeat // 5), warmup=1)
        rows.append((name, t_fgir, t_torch, t_hand))

    print(f"fgir {fgir.__version__}, torch {torch.__version__}, 1 thread, median of {args.repeat}")
    print(f"{'spec':24} {'analyse ms':>11} {'analyses/s':>11} {'to_torch ms':>12} "
          f"{'hand torch ms':>14} {'hand/analyse':>13}")
    for name, t_fgir, t_torch, t_hand in rows:
        print(f"{name:24} {t_fgir * 1e3:11.2f} {1 / t_fgir:11.0f} {t_torch * 1e3:12.1f} "
              f"{t_hand * 1e3:14.1f} {t_hand / t_fgir:12.1f}x")

    r50 = rows[0][1] * 1e3
    r18_rate = 1 / rows[2][1]
    print(f"\nResNet-50 load+expand+check+count: {r50:.2f} ms (target < 20 ms: "
          f"{'met' if r50 < 20 else 'MISSED'})")
    print(f"ResNet-18 analyses per second: {r18_rate:.0f}/s (target 1,000/s: "
          f"{'met' if r18_rate >= 1000 else 'MISSED'})")

    from fgir.testing.deep import deep_spec

    deep = {}
    for stages in (1, 16):   # the largest spec inside the documented bounds: 16 stages of 1,024 blocks
        text = deep_spec(stages, 1024)
        deep[stages] = median_seconds(lambda: fgir.compile(fgir.loads(text, "deep.yaml"), input="3x8x8"), 3,
                                      warmup=0)
    print(f"\n{'stages x blocks':16} {'compile s':>10}\n{'1 x 1,024':16} {deep[1]:10.2f}\n{'16 x 1,024':16} "
          f"{deep[16]:10.2f}\nper stage, 16 against 1: {deep[16] / 16 / deep[1]:.2f}x (linear: 1.00x)")

    cli = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "fgir", "check", "examples/resnet50.yaml"], cwd=ROOT,
                       check=True, capture_output=True)
        cli.append(time.perf_counter() - start)
    print(f"`fgir check examples/resnet50.yaml` as a fresh process: {statistics.median(cli) * 1e3:.0f} ms "
          "(median of 5, interpreter start-up included)")


if __name__ == "__main__":
    main()
