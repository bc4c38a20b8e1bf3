"""Gemma 3 (Google), the text model: a GeGLU MLP, norms around each sub-layer ("sandwich"),
zero-centred RMSNorm scales, QK-norm, embeddings scaled by sqrt(D), a softmax scale of its own
(`query_pre_attn_scalar`), and five sliding-window layers for each global one, with their own
RoPE base. A multimodal `gemma3` config is read for its `text_config`.
"""

from __future__ import annotations

import math
from typing import Any

from rawweights_jax.config import ModelConfig
from rawweights_jax.families.base import (TINY_BASE, Family, Reader, decoder_hf, hf_layer_types,
                                          layer_types, read_rope, write_rope)
from rawweights_jax.families.weights import decoder_table, dense_mlp_layer

NORMS = {"norm_attn": "input_layernorm", "post_attn": "post_attention_layernorm",
         "norm_mlp": "pre_feedforward_layernorm", "post_mlp": "post_feedforward_layernorm"}


def read(r: Reader) -> dict[str, Any]:
    r.expect("hidden_activation", ("gelu_pytorch_tanh",), "gelu_pytorch_tanh")
    for unsupported in ("final_logit_softcapping", "attn_logit_softcapping"):
        r.expect(unsupported, (None,))
    r.expect("use_bidirectional_attention", (False,), False)
    r.expect("attention_bias", (False,), False)
    n_heads = r.need("num_attention_heads")
    f = dict(vocab_size=r.need("vocab_size"), context_len=r.need("max_position_embeddings"),
             n_layers=r.need("num_hidden_layers"), n_heads=n_heads, d_model=r.need("hidden_size"),
             n_kv_heads=r.get("num_key_value_heads", n_heads), head_dim=r.get("head_dim"),
             d_ff=r.need("intermediate_size"), norm="rmsnorm", norm_eps=r.get("rms_norm_eps", 1e-6),
             position="rope", tie_embeddings=r.get("tie_word_embeddings", True),
             init_std=float(r.get("initializer_range", 0.02)), mlp="geglu",
             norm_zero_centered=True, norm_placement="sandwich", qk_norm=True, embed_scale=True,
             attn_scale=r.get("query_pre_attn_scalar", 256) ** -0.5)
    window, kinds = r.get("sliding_window"), r.get("layer_types")
    if kinds is None and window is not None:
        pattern = r.get("sliding_window_pattern", r.get("_sliding_window_pattern", 6))
        kinds = ["sliding_attention" if (i + 1) % pattern else "full_attention"
                 for i in range(f["n_layers"])]
    f.update(layer_types(r, kinds, window))
    params = r.get("rope_parameters")
    if isinstance(params, dict) and "full_attention" in params:
        local_theta = params.get("sliding_attention", {}).get("rope_theta", 10000.0)
        params = params["full_attention"]
    else:
        local_theta = r.get("rope_local_base_freq", 10000.0)
        params = {"rope_theta": r.get("rope_theta", 1_000_000.0), **(r.get("rope_scaling") or {})}
    f.update(read_rope(r, f, params), rope_local_theta=local_theta)
    return f


def write(cfg: ModelConfig, model_type: str) -> dict[str, Any]:
    hf = decoder_hf(cfg, model_type)
    hf.pop("hidden_act")
    hf.update(hidden_activation="gelu_pytorch_tanh", query_pre_attn_scalar=pre_attn_scalar(cfg),
              rope_parameters={"full_attention": write_rope(cfg), "sliding_attention": {
                  "rope_type": "default", "rope_theta": cfg.rope_local_theta or cfg.rope_theta}},
              layer_types=hf_layer_types(cfg), sliding_window=cfg.sliding_window or cfg.context_len)
    return hf


def pre_attn_scalar(cfg: ModelConfig) -> float:
    """Gemma's query_pre_attn_scalar: the number whose inverse square root is the softmax scale."""
    scalar = (cfg.attn_scale or cfg.head_dim ** -0.5) ** -2
    return int(round(scalar)) if math.isclose(scalar, round(scalar)) else scalar


def weights(cfg: ModelConfig, hf: dict):
    return decoder_table(cfg, dense_mlp_layer(cfg), NORMS)


FAMILY = Family(("gemma3_text",), read, write, weights, tiny={
    "gemma3_text": dict(
        TINY_BASE, model_type="gemma3_text", head_dim=16, sliding_window=5, tie_word_embeddings=True,
        query_pre_attn_scalar=24,
        layer_types=["sliding_attention", "full_attention", "sliding_attention"],
        rope_parameters={"full_attention": dict(rope_type="linear", rope_theta=100000.0, factor=4.0),
                         "sliding_attention": dict(rope_type="default", rope_theta=10000.0)})})
