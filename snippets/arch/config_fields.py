"""Qwen3 30B-A3B's config.json, field by field: what each becomes in our ModelConfig.

The file is the one shipped in rawweights_jax/analysis/configs (its source is recorded there);
`config_from_hf` reads it (rawweights_jax/families/hf_config.py).

Run on its own: python snippets/arch/config_fields.py
"""

import json

from rawweights_jax.analysis.zoo import zoo_model

# --8<-- [start:json]
model = zoo_model("qwen3-30b-a3b")
print(json.dumps(model.hf, indent=1))
# --8<-- [end:json]

# --8<-- [start:fields]
cfg = model.config                  # config_from_hf(model.hf)
GROUPS = {   # config.json key -> ModelConfig field (None: checked or unused, no field of its own)
    "shape": [("vocab_size", "vocab_size"), ("hidden_size", "d_model"),
              ("num_hidden_layers", "n_layers"), ("max_position_embeddings", "context_len"),
              ("tie_word_embeddings", "tie_embeddings")],
    "attention": [("num_attention_heads", "n_heads"), ("num_key_value_heads", "n_kv_heads"),
                  ("head_dim", "head_dim"), ("attention_bias", "qkv_bias"),
                  ("model_type", "qk_norm"), ("use_sliding_window", "layer_kinds"),
                  ("sliding_window", "sliding_window"), ("max_window_layers", None)],
    "positions": [("rope_theta", "rope_theta"), ("rope_scaling", "rope_scaling")],
    "norms, MLP": [("rms_norm_eps", "norm_eps"), ("hidden_act", "mlp"),
                   ("intermediate_size", "d_ff")],
    "experts": [("num_experts", "n_experts"), ("num_experts_per_tok", "experts_per_token"),
                ("moe_intermediate_size", "d_expert"), ("norm_topk_prob", "router_norm_topk"),
                ("decoder_sparse_step", "mlp_layers"), ("mlp_only_layers", "mlp_layers")],
    "training, runtime": [("initializer_range", "init_std"), ("router_aux_loss_coef", None),
                          ("attention_dropout", None),
                          ("output_router_logits", None), ("use_cache", None)],
}
keys = [k for fields in GROUPS.values() for k, _ in fields]
assert sorted(keys) == sorted(model.hf), "every key of the file is listed exactly once"


def show(value):
    if isinstance(value, tuple):                          # layer_kinds: one entry per layer
        return f"{len(value)} x {value[0]}"
    return json.dumps(value)


print(f"{'config.json':24} {'value':>11}   {'ModelConfig field':17} {'value':>11}")
for group, fields in GROUPS.items():
    print(f"-- {group}")
    for key, field in fields:
        ours = "-" if field is None else show(getattr(cfg, field))
        print(f"{key:24} {show(model.hf[key]):>11}   {field or '-':17} {ours:>11}")
# --8<-- [end:fields]
