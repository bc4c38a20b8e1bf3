"""When does attention's own arithmetic outweigh the weight matrices? Real models, by config.

For each published config, the forward FLOPs of one token at position `context`: the weight
matrices it passes through (`matmul`: projections, MLP or active experts, output layer) and
attention's scores and weighted sum of values (`attention`), from `analysis.flops_per_token`.
The first grows with the model, the second with the context; the crossover is where they
are equal. Pure arithmetic on the configs: nothing is built.

Run on its own: python snippets/arch/attn_flops.py   (a few seconds)
"""

import matplotlib.pyplot as plt
import numpy as np

from rawweights_jax.analysis.counts import attention_kind, flops_per_token
from rawweights_jax.analysis.zoo import zoo_model
from rwsite.claims import claim, value
from rwsite.tables import table

# --8<-- [start:crossover]
MODELS = ("gpt2", "llama-3.1-8b", "mistral-7b-v0.1", "gemma-3-27b", "deepseek-v3")


def crossover(cfg, limit=2**24):
    """Smallest context at which attention FLOPs reach the matmul FLOPs (None below `limit`)."""
    def gap(context):
        f = flops_per_token(cfg, context)
        return f["attention"] - f["matmul"]

    if gap(limit) < 0:
        return None                 # sliding windows cap attention below the matmuls
    lo, hi = 1, limit               # attention grows with the context: bisect
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if gap(mid) < 0 else (lo, mid)
    return hi
# --8<-- [end:crossover]

configs, rows = {}, []
for key in MODELS:
    cfg = configs[key] = zoo_model(key).config
    f1k = flops_per_token(cfg, 1024)
    at_max = flops_per_token(cfg, cfg.context_len)
    cross = crossover(cfg)
    rows.append([key, attention_kind(cfg), f"{f1k['matmul'] / 1e9:.1f}", f"{f1k['attention'] / 1e9:.2f}",
                 f"{cross:,}" if cross else "never", f"{cfg.context_len:,}",
                 f"{at_max['attention'] / at_max['forward']:.0%}"])
table(["model", "attention kind", "matmul", "attn@1k", "crossover", "context", "share"], rows)
print("matmul, attn@1k: forward GFLOP of one token (attention at position 1,024)")
print("crossover: the context where attention = matmul (never: the windows cap attention)")
print("context: the longest the config allows; share: attention's share of the FLOPs there")

# --8<-- [start:mla]
ds = configs["deepseek-v3"]     # the count above is MLA's expanded form: per key and head,
expanded = ds.qk_head_dim + ds.v_head_dim        # a 192-wide key and a 128-wide value
latent = ds.kv_lora_rank + ds.qk_rope_dim        # absorbed: queries meet the 576-wide cached
absorbed = latent + ds.kv_lora_rank              # latent, and weigh the 512-wide latent itself
matmul = flops_per_token(ds, 1024)["matmul"]
per_key = lambda width: 2 * ds.n_heads * width * ds.n_layers
print(f"\ndeepseek-v3 per key and head: expanded {expanded}, absorbed {absorbed} multiply-adds "
      f"({absorbed / expanded:.1f}x); crossover expanded {matmul / per_key(expanded):,.0f}, "
      f"absorbed {matmul / per_key(absorbed):,.0f}")
# --8<-- [end:mla]
value("mla_expanded_width", str(expanded))
value("mla_absorbed_width", str(absorbed))
value("mla_absorbed_x", f"{absorbed / expanded:.1f}")
value("ds_crossover_absorbed", f"{matmul / per_key(absorbed):,.0f}")
value("ds_crossover", f"{crossover(ds):,}")
claim(abs(matmul / per_key(expanded) - crossover(ds)) <= 1, "the table's crossover is the expanded form's",
      table=crossover(ds), expanded=matmul / per_key(expanded))

fig, ax = plt.subplots(figsize=(7.2, 3.8))
contexts = np.unique(np.round(np.logspace(7, 20, 200, base=2)).astype(int))
for i, (key, cfg) in enumerate(configs.items()):
    share = np.array([(lambda f: f["attention"] / f["forward"])(flops_per_token(cfg, c))
                      for c in contexts])
    inside = contexts <= cfg.context_len      # solid up to the context the config allows
    ax.plot(contexts[inside], 100 * share[inside], color=f"C{i}", label=zoo_model(key).name)
    ax.plot(contexts[~inside], 100 * share[~inside], color=f"C{i}", linestyle=":", alpha=0.7)
    cross = crossover(cfg)
    if cross and cross <= contexts[-1]:
        ax.plot([cross], [50], "o", color=f"C{i}", markersize=5)
ax.axhline(50, color="C7", linewidth=0.8, linestyle="--")
ax.set_xscale("log", base=2)
ax.set_xticks([2**k for k in range(7, 21, 2)],
              [f"{2**k // 1024}k" if k >= 10 else str(2**k) for k in range(7, 21, 2)])
ax.set_ylim(0, 100)
ax.set_xlabel("context (position of the token)")
ax.set_ylabel("attention share of forward FLOPs, %")
ax.set_title("Attention's share of the work per token (dotted: past the config's context)")
ax.legend(fontsize=8, loc="upper left")
fig.tight_layout()
plt.show()
