"""Benchmarks: each prints one JSON line; run as `python -m benchmarks.<name>` from the repo root."""
