"""DynaTree: confidence-aware adaptive tree speculative decoding (greedy-exact, training-free)."""

__version__ = "0.1.0"
