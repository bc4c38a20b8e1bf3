"""Tiny configs and data shared by the library tests (tests/test_lib_*.py)."""

from __future__ import annotations

from flax import nnx

from rawweights_jax.config import ModelConfig, RunConfig, TrainConfig
from rawweights_jax.data.shakespeare import Dataset

TEXT = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\n"
        "All:\nSpeak, speak.\n\nFirst Citizen:\nYou are all resolved rather to die than to famish?\n") * 40


TINY_RUN = RunConfig(ModelConfig(vocab_size=40, context_len=16, n_layers=2, n_heads=4, d_model=32),
                     TrainConfig(batch_size=4, max_iters=20, warmup_iters=2, eval_interval=10,
                                 eval_iters=2, steps_per_dispatch=5))


def tiny_config(**changes) -> RunConfig:
    """A tiny run; `changes` go to the model or the recipe, whichever has the field."""
    return TINY_RUN.replace(**changes)


def tiny_model(**changes) -> ModelConfig:
    return tiny_config(**changes).model


def tiny_data() -> Dataset:
    return Dataset.from_text(TEXT)


@nnx.jit
def forward(model, tokens_BT):
    """`model(tokens_BT)`, compiled as one XLA program. Called eagerly, JAX compiles every
    operation on its own: a tiny DeepSeek-V3 forward took 7.7 s that way on a cold cache and
    1.1 s compiled, and the test suite makes dozens of such calls."""
    return model(tokens_BT)
