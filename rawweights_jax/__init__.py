"""rawweights_jax: a readable, fast transformer in JAX/Flax NNX (GPT-2 and today's open-weight
families), with its training loop, generation, Hugging Face loading and architecture analysis."""

__all__ = ["Config", "load_hf"]


def __getattr__(name: str):
    # Lazy, so `import rawweights_jax.config` stays cheap for tools that only read configs.
    if name == "Config":
        from rawweights_jax.config import Config
        return Config
    if name == "load_hf":
        from rawweights_jax.hf_weights import load_hf
        return load_hf
    raise AttributeError(f"module 'rawweights_jax' has no attribute {name!r}")
