"""Llama (Meta) and Mistral: the decoder most open-weight families grew from. RMSNorm before
each sub-layer, rotary positions (Llama 3.1's scaling of long wavelengths included), a SwiGLU
MLP, grouped-query attention, no biases; Mistral adds a sliding window on every layer.
"""

from __future__ import annotations

from typing import Any

from rawweights_jax.config import ModelConfig
from rawweights_jax.families.base import (TINY_BASE, Family, Reader, decoder_fields, decoder_hf,
                                          layer_types, read_rope)
from rawweights_jax.families.weights import decoder_table, dense_mlp_layer


def read(r: Reader) -> dict[str, Any]:
    r.expect("attention_bias", (False,), False)
    f = decoder_fields(r)
    window = r.get("sliding_window")
    kinds = r.get("layer_types")
    if kinds is None and window is not None:
        kinds = ["sliding_attention"] * f["n_layers"]
    f.update(layer_types(r, kinds, window))
    f.update(read_rope(r, f))
    return f


def write(cfg: ModelConfig, model_type: str) -> dict[str, Any]:
    return decoder_hf(cfg, model_type)


def weights(cfg: ModelConfig, hf: dict):
    return decoder_table(cfg, dense_mlp_layer(cfg))


FAMILY = Family(("llama", "mistral"), read, write, weights, tiny={
    "llama": dict(TINY_BASE, model_type="llama", rope_parameters=dict(
        rope_type="llama3", rope_theta=10000.0, factor=8.0, low_freq_factor=1.0,
        high_freq_factor=4.0, original_max_position_embeddings=16)),
    "mistral": dict(TINY_BASE, model_type="mistral", sliding_window=7, head_dim=12)})
