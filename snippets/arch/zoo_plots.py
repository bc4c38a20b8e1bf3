"""The zoo in two pictures: total against active parameters; KV cache and FLOPs per token.

Arithmetic on every shipped config.json (rawweights_jax.analysis).

Run on its own: python snippets/arch/zoo_plots.py
"""

import matplotlib.pyplot as plt
import numpy as np

from rawweights_jax.analysis.counts import flops_per_token, kv_bytes, param_counts
from rawweights_jax.analysis.zoo import zoo_model, zoo_names

CONTEXT = 32768
models = sorted((zoo_model(key) for key in zoo_names()),
                key=lambda z: param_counts(z.config)["total"])

# --8<-- [start:plots]
fig, ax = plt.subplots(figsize=(7, 4.6))
CLUSTER = {"mistral-7b-v0.1", "qwen2.5-7b", "qwen3-8b"}      # labelled with llama-3.1-8b
OFFSET = {"deepseek-v3": (-30, 8), "qwen3-235b-a22b": (4, -12), "gemma-3-1b": (-50, 2), "llama-3.1-8b": (8, -4)}
for z in models:
    c = param_counts(z.config)
    moe = bool(z.config.n_experts)
    ax.scatter(c["total"] / 1e9, c["active"] / 1e9, color="C1" if moe else "C0",
               marker="s" if moe else "o")
    if z.key in CLUSTER:
        continue
    label = "7-8B: mistral, qwen2.5, llama-3.1, qwen3" if z.key == "llama-3.1-8b" else z.key
    ax.annotate(label, (c["total"] / 1e9, c["active"] / 1e9), fontsize=7,
                xytext=OFFSET.get(z.key, (5, -3 if moe else 3)), textcoords="offset points")
line = np.array([0.1, 1100])
ax.plot(line, line, color="C7", lw=1, ls="--", label="dense: active = total")
ax.scatter([], [], color="C1", marker="s", label="mixture of experts")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlim(0.07, 6000)
ax.set_xlabel("total parameters, billions")
ax.set_ylabel("active parameters per token, billions")
ax.legend(loc="upper left")
plt.show()

fig, (a, b) = plt.subplots(1, 2, figsize=(9, 4.6), sharey=True)
names = [z.key for z in models]
a.barh(names, [kv_bytes(z.config, CONTEXT) / CONTEXT / 1024 for z in models], color="C0")
a.set_xlabel(f"KV cache per token, KiB ({CONTEXT // 1024}K context, bf16)")
b.barh(names, [flops_per_token(z.config, CONTEXT)["forward"] / 1e9 for z in models], color="C2")
b.set_xlabel(f"forward GFLOPs per token (at {CONTEXT // 1024}K)")
fig.tight_layout()
plt.show()
# --8<-- [end:plots]
