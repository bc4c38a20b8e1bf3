"""rawweights_jax: a readable, fast transformer in JAX/Flax NNX (GPT-2 and today's open-weight
families), with its training loop, generation, Hugging Face loading and architecture analysis.

The names below are the curated public API, imported lazily (`import rawweights_jax` costs
nothing until a name is used). Everything else is reached through its subpackage; the layers
and what each may import are on the site's "Map of the library" page.

    import rawweights_jax as rw
    model = rw.load_hf("path/to/checkpoint")
    cfg = rw.preset("shakespeare-char-cpu")
"""

from __future__ import annotations

import importlib

# Public name -> module defining it. A literal dict on purpose: the site's snippet cache reads
# it (without importing) to know which modules a snippet using `rawweights_jax.NAME` reaches.
_EXPORTS = {
    "ModelConfig": "rawweights_jax.config",
    "TrainConfig": "rawweights_jax.config",
    "RunConfig": "rawweights_jax.config",
    "Runtime": "rawweights_jax.config",
    "PRESETS": "rawweights_jax.config",
    "preset": "rawweights_jax.config",
    "GPT": "rawweights_jax.model.gpt",
    "init_model": "rawweights_jax.model.gpt",
    "count_params": "rawweights_jax.model.gpt",
    "config_from_hf": "rawweights_jax.families.hf_config",
    "config_to_hf": "rawweights_jax.families.hf_config",
    "load_hf": "rawweights_jax.families.hf_weights",
    "load_shakespeare": "rawweights_jax.data.shakespeare",
    "CharTokenizer": "rawweights_jax.data.tokenizer",
    "train": "rawweights_jax.train.loop",
    "Trainer": "rawweights_jax.train.trainer",
    "generate": "rawweights_jax.inference.generate",
    "load_model": "rawweights_jax.ckpt.checkpoint",
    "summary": "rawweights_jax.analysis.counts",
    "param_counts": "rawweights_jax.analysis.counts",
    "use_cpu_cores": "rawweights_jax.parallel.devices",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rawweights_jax' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value          # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
