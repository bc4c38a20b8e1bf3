"""Layer 7, the `rawweights` command (main.py)."""

from rawweights_jax.cli.main import main

__all__ = ["main"]
