"""Aggregation: benchmark result JSONs → tidy per-experiment CSVs → ``results/numbers.json``."""
