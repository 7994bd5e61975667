"""Benchmark harness: run a decoder over prompts, measure it, and pick the best setting."""
