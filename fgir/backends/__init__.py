"""Backends: lower a lowered, checked IR graph to a runnable model. Each imports its framework itself."""
