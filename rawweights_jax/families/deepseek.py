"""DeepSeek-V3 (and Kimi K2, the same architecture): multi-head latent attention (a cached latent
of width C per token, decoupled RoPE, YaRN), and a mixture of experts after the first few dense
layers: sigmoid scores, group-limited routing, a bias for choosing only (load balancing without
an auxiliary loss), shared experts, and a scale on the routed output.
"""

from __future__ import annotations

from typing import Any

from rawweights_jax.config import ModelConfig
from rawweights_jax.families.base import (TINY_BASE, Family, HFConfigError, Reader, decoder_fields,
                                          decoder_hf, read_rope, yarn_attention_scale)
from rawweights_jax.families.weights import decoder_table, mla_rules, mlp_rules, moe_rules

EXPERT_NAMES = ("gate_proj", "up_proj", "down_proj")


def read(r: Reader) -> dict[str, Any]:
    r.expect("attention_bias", (False,), False)
    r.expect("scoring_func", ("sigmoid",), "sigmoid")
    r.expect("topk_method", ("noaux_tc",), "noaux_tc")
    f = decoder_fields(r)
    nope, rope_dim = r.need("qk_nope_head_dim"), r.need("qk_rope_head_dim")
    n_dense = r.get("first_k_dense_replace", 0)
    if not (isinstance(n_dense, int) and 0 <= n_dense <= f["n_layers"]):
        raise HFConfigError(f"{r.family} config: first_k_dense_replace={n_dense!r} is not an integer "
                            f"in [0, num_hidden_layers={f['n_layers']}]")
    f.update(kv_lora_rank=r.need("kv_lora_rank"), q_lora_rank=r.get("q_lora_rank"),
             head_dim=nope, qk_rope_dim=rope_dim, v_head_dim=r.need("v_head_dim"),
             n_kv_heads=f["n_heads"], n_experts=r.need("n_routed_experts", "num_local_experts"),
             experts_per_token=r.need("num_experts_per_tok"), d_expert=r.need("moe_intermediate_size"),
             n_shared_experts=r.get("n_shared_experts", 0),
             mlp_layers=("dense",) * n_dense + ("moe",) * (f["n_layers"] - n_dense),
             router_score="sigmoid", router_norm_topk=bool(r.get("norm_topk_prob", False)),
             router_scale=float(r.get("routed_scaling_factor", 1.0)),
             router_groups=r.get("n_group", 1), router_groups_per_token=r.get("topk_group", 1),
             router_bias=True)
    rope = read_rope(r, {**f, "head_dim": rope_dim})
    f.update(rope, attn_scale=yarn_attention_scale(rope, (nope + rope_dim) ** -0.5))
    return f


def write(cfg: ModelConfig, model_type: str) -> dict[str, Any]:
    n_dense = cfg.mlp_layers.index("moe") if "moe" in cfg.mlp_layers else cfg.n_layers
    if "dense" in cfg.mlp_layers[n_dense:]:
        raise HFConfigError(f"{model_type} keeps its dense layers first (first_k_dense_replace); "
                            f"mlp_layers={cfg.mlp_layers} cannot be written as one")
    hf = decoder_hf(cfg, model_type)
    hf.update(kv_lora_rank=cfg.kv_lora_rank, q_lora_rank=cfg.q_lora_rank,
              qk_nope_head_dim=cfg.head_dim, qk_rope_head_dim=cfg.qk_rope_dim,
              v_head_dim=cfg.v_head_dim, n_routed_experts=cfg.n_experts,
              num_experts_per_tok=cfg.experts_per_token, moe_intermediate_size=cfg.d_expert,
              n_shared_experts=cfg.n_shared_experts, first_k_dense_replace=n_dense,
              n_group=cfg.router_groups, topk_group=cfg.router_groups_per_token,
              routed_scaling_factor=cfg.router_scale, norm_topk_prob=cfg.router_norm_topk,
              rope_interleave=True, num_key_value_heads=cfg.n_heads, head_dim=cfg.qk_rope_dim)
    return hf


def weights(cfg: ModelConfig, hf: dict):
    def layer(i, h, b):
        mlp = (moe_rules(cfg, h + "mlp.", EXPERT_NAMES, b + "mlp.") if cfg.is_moe_layer(i)
               else mlp_rules(h + "mlp.", b + "mlp."))
        return {**mla_rules(cfg, hf, h + "self_attn.", b + "attn."), **mlp}
    return decoder_table(cfg, layer)


FAMILY = Family(("deepseek_v3", "kimi_k2"), read, write, weights, tiny={
    "deepseek_v3": dict(
        TINY_BASE, model_type="deepseek_v3", num_key_value_heads=6, n_routed_experts=8,
        num_experts_per_tok=3, moe_intermediate_size=24, n_shared_experts=1, n_group=4,
        topk_group=2, first_k_dense_replace=1, kv_lora_rank=20, q_lora_rank=28,
        qk_rope_head_dim=8, qk_nope_head_dim=12, v_head_dim=10, routed_scaling_factor=2.5,
        norm_topk_prob=True, rope_interleave=True, rope_parameters=dict(
            rope_type="yarn", rope_theta=10000.0, factor=4.0, original_max_position_embeddings=32,
            mscale=1.0, mscale_all_dim=1.0, beta_fast=32, beta_slow=1))},
    ignored=Family.ignored + ("aux_loss_alpha", "seq_aux", "num_nextn_predict_layers"))
