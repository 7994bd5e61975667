"""Figures: one module per figure (``draw(table) -> Figure``), one shared style, one CLI."""
