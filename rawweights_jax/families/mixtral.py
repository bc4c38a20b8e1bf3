"""Mixtral (Mistral AI): Mistral's decoder with a mixture of experts in every layer, a softmax
router over E experts choosing k (renormalised), experts named w1 (gate), w3 (up), w2 (down).
"""

from __future__ import annotations

from typing import Any

from rawweights_jax.config import ModelConfig
from rawweights_jax.families import llama
from rawweights_jax.families.base import TINY_BASE, Family, Reader, decoder_hf
from rawweights_jax.families.weights import attention_rules, decoder_table, moe_rules

EXPERT_NAMES = ("w1", "w3", "w2")


def read(r: Reader) -> dict[str, Any]:
    f = llama.read(r)            # Mistral's decoder (Llama's, with its window), then experts
    f.update(n_experts=r.need("num_local_experts", "num_experts"),
             experts_per_token=r.need("num_experts_per_tok"), router_norm_topk=True)
    return f


def write(cfg: ModelConfig, model_type: str) -> dict[str, Any]:
    hf = decoder_hf(cfg, model_type)
    hf.update(num_local_experts=cfg.n_experts, num_experts_per_tok=cfg.experts_per_token,
              intermediate_size=cfg.d_expert)
    return hf


def weights(cfg: ModelConfig, hf: dict):
    return decoder_table(cfg, lambda i, h, b: {
        **attention_rules(cfg, h + "self_attn.", b + "attn."),
        **moe_rules(cfg, h + "block_sparse_moe.", EXPERT_NAMES, b + "mlp.")})


FAMILY = Family(("mixtral",), read, write, weights, tiny={
    "mixtral": dict(TINY_BASE, model_type="mixtral", num_local_experts=4, num_experts_per_tok=2,
                    sliding_window=9, num_key_value_heads=1)},
    ignored=Family.ignored + ("router_aux_loss_coef", "output_router_logits", "router_jitter_noise"))
