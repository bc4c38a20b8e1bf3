"""Layer 1, configuration, split by concern: the model (architecture only, what a Hugging Face
config.json holds), the training recipe, the runtime kernels, how a step is spread over devices, and a run pairing a model with
its recipe; plus the named presets. No file or network I/O, no JAX.

    from rawweights_jax.config import ModelConfig, TrainConfig, Runtime, RunConfig, preset
"""

from rawweights_jax.config.model import ModelConfig
from rawweights_jax.config.parallel import ParallelConfig
from rawweights_jax.config.presets import PRESETS, preset
from rawweights_jax.config.run import RunConfig
from rawweights_jax.config.runtime import Runtime
from rawweights_jax.config.train import TrainConfig

__all__ = ["ModelConfig", "ParallelConfig", "PRESETS", "RunConfig", "Runtime", "TrainConfig", "preset"]
