"""Greedy decoders behind one interface: AR, linear, fixed tree, DynaTree, HF assisted."""

from dynatree.decoding.base import DecodeOutput, Decoder, DecodeStats
from dynatree.decoding.registry import METHODS, build_decoder, parse_params

__all__ = ["DecodeOutput", "DecodeStats", "Decoder", "METHODS", "build_decoder", "parse_params"]
