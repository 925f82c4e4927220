"""Test support shipped with fgir: spec mutators for fuzzing (used by tests/ and bench/fuzz.py)."""
