"""The model-size calculator's starting points: every zoo config, and the library's numbers for it.

The page's calculator (docs/javascripts/rw-counts.js and rw-calculator.js) recomputes, in the
browser, the formulas of `rawweights_jax.analysis.counts` from a config's fields. This snippet
exports what it starts from: for each shipped config the `ModelConfig` fields those formulas
read, with the two per-layer tuples written as the rules that rebuild them at any depth, and
the library's own totals, which the browser test compares with the JavaScript ones.

Run on its own: python snippets/arch/calculator.py   (about a second)
"""

import dataclasses
import json

from rawweights_jax.analysis.counts import (attention_kind, flops_per_token, kv_bytes,
                                            memory_bytes, param_counts)
from rawweights_jax.analysis.inspector import human
from rawweights_jax.analysis.zoo import zoo_model, zoo_names
from rwsite.claims import claim, data, value
from rwsite.tables import table

# --8<-- [start:fields]
# The ModelConfig fields that counts.py reads (tuples apart): all the browser needs.
FIELDS = ("vocab_size", "context_len", "position", "n_layers", "d_model", "n_heads", "n_kv_heads",
          "head_dim", "d_ff", "bias", "qkv_bias", "qk_norm", "tie_embeddings", "norm",
          "norm_placement", "mlp", "sliding_window", "kv_lora_rank", "q_lora_rank", "qk_rope_dim",
          "v_head_dim", "n_experts", "experts_per_token", "d_expert", "n_shared_experts",
          "router_bias")
DTYPES = ("float32", "bfloat16", "int8", "int4")     # what the calculator's dtype slider offers
CONTEXTS = (1024, 8192, 131072)                      # where the library's FLOPs are exported


def period(kinds: tuple[str, ...]) -> list[str]:
    """The shortest pattern that repeats into `kinds` (Gemma 3: five local layers, one global)."""
    return next(list(kinds[:p]) for p in range(1, len(kinds) + 1)
                if all(k == kinds[i % p] for i, k in enumerate(kinds)))


def starting_point(cfg) -> dict:
    """The fields, and the per-layer tuples as rules a slider can stretch to any depth."""
    fields = {name: getattr(cfg, name) for name in FIELDS}
    fields["layer_pattern"] = period(cfg.layer_kinds)
    moe = cfg.mlp_layers
    fields["dense_first"] = moe.index("moe") if cfg.n_experts else 0   # DeepSeek's dense start
    return fields


def tuples_at(fields: dict, n_layers: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """layer_kinds and mlp_layers at another depth, by the rules the browser applies."""
    pattern, dense = fields["layer_pattern"], fields["dense_first"]
    kinds = tuple(pattern[i % len(pattern)] for i in range(n_layers))
    mlp = tuple("moe" if fields["n_experts"] and i >= dense else "dense" for i in range(n_layers))
    return kinds, mlp
# --8<-- [end:fields]


# --8<-- [start:export]
models, rows = [], []
for key in zoo_names():
    cfg = zoo_model(key).config
    fields = starting_point(cfg)
    claim(tuples_at(fields, cfg.n_layers) == (cfg.layer_kinds, cfg.mlp_layers),
          "the rules rebuild every zoo model's per-layer tuples", model=key)
    counts = param_counts(cfg)
    library = {"total": counts["total"], "active": counts["active"],
               "kv_bytes_per_token": {d: kv_bytes(cfg, 1, dtype=d) for d in DTYPES},
               "forward_flops": {str(c): flops_per_token(cfg, c)["forward"] for c in CONTEXTS}}
    models.append({"key": key, "name": zoo_model(key).name, "fields": fields, "library": library})
    rows.append([key, attention_kind(cfg), human(counts["total"]), human(counts["active"]),
                 human(library["kv_bytes_per_token"]["bfloat16"], "B")])
data("calculator", {"dtypes": list(DTYPES), "contexts": list(CONTEXTS), "models": models})
table(["model", "attention", "total", "active", "KV/token"], rows, align="llrrr")
print(f"{len(models)} starting points, {len(json.dumps(models)):,} bytes of JSON for the page")
# --8<-- [end:export]

# What the page suggests trying, computed by the library (the calculator shows the same).
llama = zoo_model("llama-3.1-8b").config
mqa = dataclasses.replace(llama, n_kv_heads=1)
value("llama_kv_heads", str(llama.n_kv_heads))
value("llama_kv", human(kv_bytes(llama, 1), "B"))
value("llama_mqa_kv", human(kv_bytes(mqa, 1), "B"))
qwen = zoo_model("qwen3-30b-a3b").config
wider = dataclasses.replace(qwen, experts_per_token=16)
value("qwen_active", human(param_counts(qwen)["active"]))
value("qwen_active_16", human(param_counts(wider)["active"]))
value("qwen_total", human(param_counts(qwen)["total"]))
value("qwen_experts", f"{qwen.experts_per_token} of {qwen.n_experts}")
gemma = zoo_model("gemma-3-27b").config
value("gemma_local", f"{gemma.layer_kinds.count('local')} of its {gemma.n_layers}")
value("gemma_window", f"{gemma.sliding_window:,}")
more = dataclasses.replace(qwen, n_experts=2 * qwen.n_experts)
claim(param_counts(wider)["total"] == param_counts(qwen)["total"],
      "more experts per token leave the total unchanged")
router_growth = qwen.n_moe_layers * qwen.d_model * qwen.n_experts   # one router row per new expert
claim(param_counts(more)["active"] - param_counts(qwen)["active"] == router_growth,
      "more experts add to the active count only their router rows", growth=router_growth)
value("router_growth", human(router_growth))
value("more_total", human(param_counts(more)["total"]))
claim(memory_bytes(qwen, 1)["weights"] == param_counts(qwen)["total"] * 2,
      "bfloat16 weights take two bytes per parameter")
claim(param_counts(mqa)["total"] > 0.95 * param_counts(llama)["total"],
      "one KV head instead of several hardly moves the parameters")
all_global = dataclasses.replace(gemma, layer_kinds=("global",) * gemma.n_layers)
per_token = {c: kv_bytes(gemma, c) / c for c in (1024, 131072)}
claim(per_token[131072] < per_token[1024], "a longer context lowers Gemma 3's cache per token")
growth = lambda cfg: flops_per_token(cfg, 131072)["forward"] - flops_per_token(cfg, 1024)["forward"]
claim(growth(gemma) < 0.5 * growth(all_global),
      "windows make the forward FLOPs grow far more slowly with the context")
