"""Layer 1, configuration: the frozen, validated Config of a model and its training run, and
the named presets. No file or network I/O, no JAX.

    from rawweights_jax.config import Config, preset
"""

from rawweights_jax.config.config import Config, architecture_fields
from rawweights_jax.config.presets import PRESETS, preset

__all__ = ["Config", "PRESETS", "architecture_fields", "preset"]
