"""Cutting each expert into m narrower ones: same parameters, same FLOPs, more combinations.

Mixtral 8x7B's layer with every expert split into m pieces (m times as many experts, m times
as many chosen, each 1/m as wide, DeepSeekMoE's "fine-grained" experts). Arithmetic only.

Run on its own: python snippets/arch/moe_split.py
"""

from math import comb

from rawweights_jax.analysis.counts import param_counts
from rawweights_jax.analysis.zoo import zoo_model

# --8<-- [start:split]
def fmt_count(n):
    return f"{n:,}" if n < 1e9 else f"{n:.2e}"


mixtral = zoo_model("mixtral-8x7b").config
print("Mixtral 8x7B with each expert split into m narrower ones:")
print(f"{'m':>3} {'experts':>8} {'chosen':>7} {'width':>6} {'total':>7} {'active':>7} "
      f"{'combinations':>13}")
for m in (1, 2, 4, 8):
    cfg = mixtral.replace(n_experts=8 * m, experts_per_token=2 * m,
                          d_expert=mixtral.d_expert // m)
    c = param_counts(cfg)
    print(f"{m:>3} {cfg.n_experts:>8} {cfg.experts_per_token:>7} {cfg.d_expert:>6} "
          f"{c['total'] / 1e9:>6.1f}B {c['active'] / 1e9:>6.1f}B "
          f"{fmt_count(comb(cfg.n_experts, cfg.experts_per_token)):>13}")
# --8<-- [end:split]
