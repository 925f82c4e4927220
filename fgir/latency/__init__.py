"""Latency on this machine: measuring a compiled graph in ONNX Runtime, and a predictor fitted from a few
measurements (``fgir latency calibrate``).  Below prune and search, which both use it."""
