"""The EfficientNet family: MBConv with squeeze-excitation and stochastic depth, and EfficientNet b0-b7."""
