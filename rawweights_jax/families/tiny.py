"""The families, small: one tiny Hugging Face config per supported model type.

Each is written as its family writes it (`config.json` field names), with every structural
feature of the family switched on but every size shrunk: grouped-query attention, sliding
windows shorter than a test sequence, RoPE scaling, several experts with top-k > 1, shared
experts, dense layers among expert ones, MLA ranks. Each family module holds its own
(`Family.tiny`); this module gathers them. They serve three purposes:

- the parity tests build the same model in `transformers` and compare (tests/test_lib_hf.py);
- `tiny_config(family)` turns one into a run (model + a short recipe) that trains on tiny
  Shakespeare on a CPU in seconds (the vocabulary is the 65 characters of the data set);
- the architecture articles and the analysis tests use them as exact, instantiable examples.
"""

from __future__ import annotations

from typing import Any

from rawweights_jax.config import RunConfig, TrainConfig
from rawweights_jax.families.hf_config import FAMILIES, config_from_hf

TINY_HF: dict[str, dict[str, Any]] = {
    model_type: family.tiny[model_type] for model_type, family in FAMILIES.items()
    if model_type in family.tiny}
"""Tiny configs in each family's own field names (what `config.json` would hold)."""

TINY_CONTEXT = 64
TINY_TRAINING = TrainConfig(batch_size=8, max_iters=100, warmup_iters=10, lr=3e-3, min_lr=3e-4,
                            eval_interval=50, eval_iters=5, steps_per_dispatch=10)
"""A short recipe for the tiny models: 100 steps of 8 x 64 characters."""


def tiny_config(family: str, **overrides: Any) -> RunConfig:
    """The tiny model of `family` (at a 64-token context) with the short recipe; `overrides`
    change fields of either."""
    if family not in TINY_HF:
        raise ValueError(f"unknown family {family!r}: expected one of {', '.join(TINY_HF)}")
    run = RunConfig(config_from_hf(TINY_HF[family], context_len=TINY_CONTEXT), TINY_TRAINING)
    return run.replace(**overrides) if overrides else run
