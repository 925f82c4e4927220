"""The space ``fgir latency calibrate`` measures when given none: MobileNet-style networks at 3x32x32;
and the most candidates it measures (``MAX_CANDIDATES``: calibrating stays a matter of seconds).

Plain, depthwise and pointwise convolutions, two activations, residual adds, a linear head, over a
range of widths, depths and kernel sizes, so every kind of node a predictor weighs varies.  A
predictor is best calibrated on the space it will predict (``fgir latency calibrate SPACE.yaml``).

Example:
    >>> "InvertedResidualStage" in DEFAULT_SPACE and DEFAULT_SPACE_FILE
    '<fgir latency: default space>'
"""

MAX_CANDIDATES = 20
DEFAULT_SPACE_FILE = "<fgir latency: default space>"
DEFAULT_SPACE = """\
input: 3x32x32
search_space:
  hyper_parameters:
    stem.out_channels: choice(8, 16, 24, 32)
    stage1.in_channels: ${stem.out_channels}
    stage1.depth: choice(1, 2, 3)
    stage1.expand_ratio: choice(1, 3, 6)
    stage1.kernel_size: choice(3, 5, 7)
    stage1.out_channels: choice(16, 24, 32)
    stage2.in_channels: ${stage1.out_channels}
    stage2.depth: choice(1, 2, 3, 4)
    stage2.expand_ratio: choice(3, 4, 6)
    stage2.kernel_size: choice(3, 5, 7)
    stage2.out_channels: choice(32, 48, 64)
    stage2.activation: choice(ReLU6, Hardswish)
    stage3.in_channels: ${stage2.out_channels}
    stage3.depth: choice(1, 2, 3, 4)
    stage3.expand_ratio: choice(3, 4, 6)
    stage3.kernel_size: choice(3, 5, 7)
    stage3.out_channels: choice(64, 96, 128)
    last.in_channels: ${stage3.out_channels}
    last.out_channels: choice(128, 256, 512)
  modules: [stem, stage1, stage2, stage3, last, pooling, view, linear]
  stem: {type: ConvBNActivation, in_channels: 3, out_channels: 16, stride: 1, activation: ReLU6}
  stage1: {type: InvertedResidualStage, in_channels: 16, out_channels: 16, depth: 1, stride: 1,
           expand_ratio: 1, kernel_size: 3}
  stage2: {type: InvertedResidualStage, in_channels: 16, out_channels: 32, depth: 2, stride: 2,
           expand_ratio: 6, kernel_size: 3, activation: ReLU6}
  stage3: {type: InvertedResidualStage, in_channels: 32, out_channels: 64, depth: 2, stride: 2,
           expand_ratio: 6, kernel_size: 3}
  last: {type: ConvBNActivation, in_channels: 64, out_channels: 256, kernel_size: 1, activation: ReLU6}
  pooling: {type: AdaptiveAvgPool2d, output_size: 1}
  view: {type: View}
  linear: {type: Linear, out_features: 10}
"""

__all__ = ["DEFAULT_SPACE", "DEFAULT_SPACE_FILE", "MAX_CANDIDATES"]
