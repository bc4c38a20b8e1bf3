"""Tiny random Hugging Face models of every supported family, every structural feature on.

Each spec is a transformers config class name and its arguments: a few layers and small widths,
but grouped-query attention, sliding windows shorter than the test sequence, RoPE scaling,
several experts with top-k > 1, shared experts and MLA ranks wherever the family has them.
Every parameter (norm scales and router biases included) is perturbed away from its
initial value, so a weight mapped to the wrong place cannot go unnoticed.
"""

from __future__ import annotations

BASE = dict(vocab_size=101, hidden_size=48, num_hidden_layers=3, num_attention_heads=6,
            num_key_value_heads=2, intermediate_size=64, max_position_embeddings=128,
            tie_word_embeddings=False)

SPECS = {
    "gpt2": ("GPT2Config", dict(vocab_size=101, n_embd=48, n_layer=3, n_head=6, n_positions=128,
                                resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)),
    "llama": ("LlamaConfig", dict(BASE, rope_parameters=dict(
        rope_type="llama3", rope_theta=10000.0, factor=8.0, low_freq_factor=1.0,
        high_freq_factor=4.0, original_max_position_embeddings=16))),
    "mistral": ("MistralConfig", dict(BASE, sliding_window=7, head_dim=12)),
    "mixtral": ("MixtralConfig", dict(BASE, num_local_experts=4, num_experts_per_tok=2,
                                      sliding_window=9, num_key_value_heads=1)),
    "qwen2": ("Qwen2Config", dict(BASE, rope_parameters=dict(
        rope_type="yarn", rope_theta=10000.0, factor=4.0, original_max_position_embeddings=32))),
    "qwen3": ("Qwen3Config", dict(BASE, head_dim=16, use_sliding_window=True, sliding_window=6,
                                  max_window_layers=1, rope_parameters=dict(
                                      rope_type="linear", rope_theta=5000.0, factor=2.0))),
    "qwen3_moe": ("Qwen3MoeConfig", dict(BASE, head_dim=16, num_experts=6, num_experts_per_tok=3,
                                         moe_intermediate_size=24, norm_topk_prob=True)),
    "gemma3_text": ("Gemma3TextConfig", dict(
        BASE, head_dim=16, sliding_window=5, tie_word_embeddings=True, query_pre_attn_scalar=24,
        layer_types=["sliding_attention", "full_attention", "sliding_attention"],
        rope_parameters={"full_attention": dict(rope_type="linear", rope_theta=100000.0, factor=4.0),
                         "sliding_attention": dict(rope_type="default", rope_theta=10000.0)})),
    "deepseek_v3": ("DeepseekV3Config", dict(
        BASE, num_key_value_heads=6, n_routed_experts=8, num_experts_per_tok=3,
        moe_intermediate_size=24, n_shared_experts=1, n_group=4, topk_group=2,
        first_k_dense_replace=1, kv_lora_rank=20, q_lora_rank=28, qk_rope_head_dim=8,
        qk_nope_head_dim=12, v_head_dim=10, routed_scaling_factor=2.5, norm_topk_prob=True,
        rope_interleave=True, rope_parameters=dict(
            rope_type="yarn", rope_theta=10000.0, factor=4.0, original_max_position_embeddings=32,
            mscale=1.0, mscale_all_dim=1.0, beta_fast=32, beta_slow=1))),
}


def make_hf_model(family: str, seed: int = 0):
    """A float32, eager-attention transformers model of `family` with perturbed weights."""
    import torch
    import transformers

    class_name, kwargs = SPECS[family]
    torch.manual_seed(seed)
    config = getattr(transformers, class_name)(**kwargs)
    config._attn_implementation = "eager"
    model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="eager")
    model = model.float().eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.add_(torch.randn_like(p) * (0.1 if p.ndim == 1 else 0.02))
        for name, b in model.named_buffers():
            if name.endswith("e_score_correction_bias"):
                b.copy_(torch.randn_like(b) * 0.1)
    return model
