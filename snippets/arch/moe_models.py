"""Total against active parameters of the published mixture-of-experts models, two ways.

Publishers count "active" differently: Mixtral's 12.9B includes the input embedding (a table
lookup, no arithmetic), DeepSeek's and Kimi's "activated" leave it out. Both are printed.

Run on its own: python snippets/arch/moe_models.py
"""

from rawweights_jax.analysis.counts import param_counts
from rawweights_jax.analysis.zoo import zoo_model

# --8<-- [start:models]
def b(n):                      # three significant digits: 12.9B, 3.35B, 1.03T
    return f"{n / 1e12:.3g}T" if n >= 1e12 else f"{n / 1e9:.3g}B"


MOE = ["mixtral-8x7b", "qwen3-30b-a3b", "qwen3-235b-a22b", "deepseek-v3", "kimi-k2"]
print(f"{'model':16} {'experts':>11} {'total':>6} {'active':>7} {'- input emb':>12} "
      f"{'published':>12} {'active share':>13}")
for key in MOE:
    z = zoo_model(key)
    cfg, counts = z.config, param_counts(z.config)
    experts = f"{cfg.experts_per_token} of {cfg.n_experts}" + (
        f" +{cfg.n_shared_experts}" if cfg.n_shared_experts else "")
    no_embed = counts["active"] - counts["embedding"]
    published = f"{b(z.published_params)}/{b(z.published_active_params)}"
    print(f"{key:16} {experts:>11} {b(counts['total']):>6} {b(counts['active']):>7} "
          f"{b(no_embed):>12} {published:>12} {counts['active'] / counts['total']:>13.1%}")
# --8<-- [end:models]
