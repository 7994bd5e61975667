"""Greedy decoders behind one interface; the methods are declared in :mod:`.registry`.

Kept free of imports so that naming a method or parsing its parameters never loads torch.
"""
