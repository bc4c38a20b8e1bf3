"""The families, small: one tiny Hugging Face config per supported architecture.

Each is written as its family writes it (`config.json` field names), with every structural
feature of the family switched on but every size shrunk: grouped-query attention, sliding
windows shorter than a test sequence, RoPE scaling, several experts with top-k > 1, shared
experts, MLA ranks. They serve three purposes:

- the parity tests build the same model in `transformers` and compare (tests/test_lib_hf.py);
- `tiny_config(family)` turns one into our Config, which trains on tiny Shakespeare on a CPU
  in seconds (the vocabulary is the 65 characters of the data set);
- the architecture articles and the analysis tests use them as exact, instantiable examples.
"""

from __future__ import annotations

from typing import Any

from rawweights_jax.config import Config
from rawweights_jax.families.hf_config import config_from_hf

_BASE = dict(vocab_size=65, hidden_size=48, num_hidden_layers=3, num_attention_heads=6,
             num_key_value_heads=2, intermediate_size=64, max_position_embeddings=128,
             tie_word_embeddings=False)

TINY_HF: dict[str, dict[str, Any]] = {
    "gpt2": dict(model_type="gpt2", vocab_size=65, n_embd=48, n_layer=3, n_head=6, n_positions=128),
    "llama": dict(_BASE, model_type="llama", rope_parameters=dict(
        rope_type="llama3", rope_theta=10000.0, factor=8.0, low_freq_factor=1.0,
        high_freq_factor=4.0, original_max_position_embeddings=16)),
    "mistral": dict(_BASE, model_type="mistral", sliding_window=7, head_dim=12),
    "mixtral": dict(_BASE, model_type="mixtral", num_local_experts=4, num_experts_per_tok=2,
                    sliding_window=9, num_key_value_heads=1),
    "qwen2": dict(_BASE, model_type="qwen2", rope_parameters=dict(
        rope_type="yarn", rope_theta=10000.0, factor=4.0, original_max_position_embeddings=32)),
    "qwen3": dict(_BASE, model_type="qwen3", head_dim=16, use_sliding_window=True,
                  sliding_window=6, max_window_layers=1,
                  rope_parameters=dict(rope_type="linear", rope_theta=5000.0, factor=2.0)),
    "qwen3_moe": dict(_BASE, model_type="qwen3_moe", head_dim=16, num_experts=6,
                      num_experts_per_tok=3, moe_intermediate_size=24, norm_topk_prob=True),
    "gemma3_text": dict(
        _BASE, model_type="gemma3_text", head_dim=16, sliding_window=5, tie_word_embeddings=True,
        query_pre_attn_scalar=24,
        layer_types=["sliding_attention", "full_attention", "sliding_attention"],
        rope_parameters={"full_attention": dict(rope_type="linear", rope_theta=100000.0, factor=4.0),
                         "sliding_attention": dict(rope_type="default", rope_theta=10000.0)}),
    "deepseek_v3": dict(
        _BASE, model_type="deepseek_v3", num_key_value_heads=6, n_routed_experts=8,
        num_experts_per_tok=3, moe_intermediate_size=24, n_shared_experts=1, n_group=4,
        topk_group=2, first_k_dense_replace=1, kv_lora_rank=20, q_lora_rank=28,
        qk_rope_head_dim=8, qk_nope_head_dim=12, v_head_dim=10, routed_scaling_factor=2.5,
        norm_topk_prob=True, rope_interleave=True, rope_parameters=dict(
            rope_type="yarn", rope_theta=10000.0, factor=4.0, original_max_position_embeddings=32,
            mscale=1.0, mscale_all_dim=1.0, beta_fast=32, beta_slow=1)),
}
"""Tiny configs in each family's own field names (what `config.json` would hold)."""

# A short training recipe for the tiny models: 100 steps of 8 x 64 characters.
TINY_TRAINING = dict(context_len=64, batch_size=8, max_iters=100, warmup_iters=10, lr=3e-3,
                     min_lr=3e-4, eval_interval=50, eval_iters=5, steps_per_dispatch=10)


def tiny_config(family: str, **overrides: Any) -> Config:
    """Our Config for the tiny model of `family`, with a short training recipe."""
    if family not in TINY_HF:
        raise ValueError(f"unknown family {family!r}: expected one of {', '.join(TINY_HF)}")
    return config_from_hf(TINY_HF[family], **{**TINY_TRAINING, **overrides})
