"""Reading a Hugging Face `config.json` into a ModelConfig, and writing one back: the registry
of families, one module each (gpt2.py, llama.py, qwen.py, mixtral.py, gemma3.py, deepseek.py).

Adding a family is one module defining a `Family` and one line in `FAMILIES` below.
`config_from_hf` dispatches on `model_type`; `config_to_hf(cfg, model_type)` writes the family's
own field names, so `transformers` can build the same model (the parity tests do exactly that).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rawweights_jax.config import ModelConfig
from rawweights_jax.families import deepseek, gemma3, gpt2, llama, mixtral, qwen
from rawweights_jax.families.base import Family, HFConfigError, Reader, read_hf_config

__all__ = ["FAMILIES", "HFConfigError", "config_from_hf", "config_to_hf", "family_of", "read_hf_config"]

FAMILIES: dict[str, Family] = {
    model_type: module.FAMILY
    for module in (gpt2, llama, qwen, mixtral, gemma3, deepseek)
    for model_type in module.FAMILY.model_types
}
"""Every supported `model_type` and the family module that knows it."""


def family_of(model_type: Any) -> Family:
    """The family of a `model_type`; an unknown one is an error listing the known ones."""
    if model_type is None:
        raise HFConfigError("config has no 'model_type' field: is it a Hugging Face config.json?")
    if model_type not in FAMILIES:
        raise HFConfigError(f"model_type={model_type!r} is not supported: expected one of "
                            + ", ".join(FAMILIES))
    return FAMILIES[model_type]


def config_from_hf(source: dict | str | Path, **overrides: Any) -> ModelConfig:
    """The ModelConfig of a Hugging Face config (dict, file or directory); `overrides` win."""
    hf = read_hf_config(source)
    reader = Reader(hf)
    fields = family_of(reader.family).read(reader)
    fields.update(overrides)
    try:
        return ModelConfig(**fields)
    except ValueError as err:       # inconsistent values: say it came from this file
        raise HFConfigError(f"{reader.family} config is inconsistent: {err}") from None
    except TypeError as err:        # an override that is not a ModelConfig field
        raise HFConfigError(f"{reader.family} config: {err}") from None


def config_to_hf(cfg: ModelConfig, model_type: str) -> dict[str, Any]:
    """A Hugging Face config dict of `model_type` describing `cfg`."""
    return family_of(model_type).write(cfg, model_type)
