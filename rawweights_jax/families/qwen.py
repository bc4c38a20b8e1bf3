"""Qwen2, Qwen3 and Qwen3-MoE (Alibaba). Qwen2 is Llama with biases on the query, key and value
projections; Qwen3 drops them for QK-norm; Qwen3-MoE routes each token to k of E experts with a
softmax router, in every layer or in a pattern (`decoder_sparse_step`: every k-th layer sparse;
`mlp_only_layers`: these stay dense). A sliding window, when used, covers the layers from
`max_window_layers` on.
"""

from __future__ import annotations

from typing import Any

from rawweights_jax.config import ModelConfig
from rawweights_jax.families.base import (TINY_BASE, Family, HFConfigError, Reader, decoder_fields,
                                          decoder_hf, layer_types, read_rope)
from rawweights_jax.families.weights import (attention_rules, decoder_table, dense_mlp_layer,
                                             mlp_rules, moe_rules)

EXPERT_NAMES = ("gate_proj", "up_proj", "down_proj")


def read(r: Reader) -> dict[str, Any]:
    f = decoder_fields(r)
    if r.family != "qwen2":
        r.expect("attention_bias", (False,), False)
    f.update(qkv_bias=r.family == "qwen2", qk_norm=r.family != "qwen2")
    window = r.get("sliding_window") if r.get("use_sliding_window", False) else None
    kinds = r.get("layer_types")
    if kinds is None and window is not None:
        first = r.get("max_window_layers", f["n_layers"])
        kinds = ["sliding_attention" if i >= first else "full_attention" for i in range(f["n_layers"])]
    f.update(layer_types(r, kinds, window))
    f.update(read_rope(r, f))
    if r.family == "qwen3_moe":
        f.update(read_experts(r, f["n_layers"]))
    return f


def read_experts(r: Reader, n_layers: int) -> dict[str, Any]:
    """Experts, their width, and which layers have them (dense ones anywhere, not only first)."""
    n_experts, step = r.need("num_experts", "num_local_experts"), r.get("decoder_sparse_step", 1)
    dense = r.get("mlp_only_layers", [])
    if not (isinstance(step, int) and step >= 1):
        raise HFConfigError(f"qwen3_moe config: decoder_sparse_step={step!r} is not a positive integer")
    if not (isinstance(dense, list) and all(isinstance(i, int) and 0 <= i < n_layers for i in dense)):
        raise HFConfigError(f"qwen3_moe config: mlp_only_layers={dense!r} is not a list of layer "
                            f"indices below num_hidden_layers={n_layers}")
    moe = [i not in dense and n_experts > 0 and (i + 1) % step == 0 for i in range(n_layers)]
    return dict(n_experts=n_experts, experts_per_token=r.need("num_experts_per_tok"),
                d_expert=r.need("moe_intermediate_size"),
                router_norm_topk=bool(r.get("norm_topk_prob", False)),
                mlp_layers=tuple("moe" if m else "dense" for m in moe))


def write(cfg: ModelConfig, model_type: str) -> dict[str, Any]:
    hf = decoder_hf(cfg, model_type)
    if model_type == "qwen3_moe":
        hf.update(num_experts=cfg.n_experts, num_experts_per_tok=cfg.experts_per_token,
                  norm_topk_prob=cfg.router_norm_topk, moe_intermediate_size=cfg.d_expert,
                  decoder_sparse_step=1,
                  mlp_only_layers=[i for i, k in enumerate(cfg.mlp_layers) if k == "dense"])
    return hf


def weights(cfg: ModelConfig, hf: dict):
    if not cfg.n_experts:
        return decoder_table(cfg, dense_mlp_layer(cfg))

    def layer(i, h, b):
        mlp = (moe_rules(cfg, h + "mlp.", EXPERT_NAMES, b + "mlp.") if cfg.is_moe_layer(i)
               else mlp_rules(h + "mlp.", b + "mlp."))
        return {**attention_rules(cfg, h + "self_attn.", b + "attn."), **mlp}
    return decoder_table(cfg, layer)


FAMILY = Family(("qwen2", "qwen3", "qwen3_moe"), read, write, weights, tiny={
    "qwen2": dict(TINY_BASE, model_type="qwen2", rope_parameters=dict(
        rope_type="yarn", rope_theta=10000.0, factor=4.0, original_max_position_embeddings=32)),
    "qwen3": dict(TINY_BASE, model_type="qwen3", head_dim=16, use_sliding_window=True,
                  sliding_window=6, max_window_layers=1,
                  rope_parameters=dict(rope_type="linear", rope_theta=5000.0, factor=2.0)),
    # the middle layer stays dense (mlp_only_layers): dense layers anywhere, not only first
    "qwen3_moe": dict(TINY_BASE, model_type="qwen3_moe", head_dim=16, num_experts=6,
                      num_experts_per_tok=3, moe_intermediate_size=24, norm_topk_prob=True,
                      mlp_only_layers=[1])},
    ignored=Family.ignored + ("router_aux_loss_coef", "output_router_logits"))
