"""How the whole KV cache grows with the context: full attention, windows, a latent.

Arithmetic on shipped configs (`rawweights_jax.analysis.kv_bytes`), bfloat16, one sequence.

Run on its own: python snippets/arch/kv_context.py
"""

import matplotlib.pyplot as plt
import numpy as np

from rawweights_jax.analysis.counts import attention_kind, kv_bytes
from rawweights_jax.analysis.zoo import zoo_model

# --8<-- [start:context]
contexts = 2 ** np.arange(10, 18)                           # 1K .. 128K tokens
fig, ax = plt.subplots(figsize=(7, 4.2))
print("KV cache of one sequence, GiB (bf16), at a context of")
print(f"{'model':16} " + " ".join(f"{c // 1024:>7}K" for c in contexts[::2]))
for i, key in enumerate(["llama-3.1-8b", "qwen3-8b", "mistral-7b-v0.1", "gemma-3-27b",
                         "deepseek-v3"]):
    cfg = zoo_model(key).config
    gib = np.array([kv_bytes(cfg, int(c)) for c in contexts]) / 2**30
    ax.plot(contexts, gib, marker="o", color=f"C{i}", label=f"{key} ({attention_kind(cfg)})")
    print(f"{key:16} " + " ".join(f"{g:>8.2f}" for g in gib[::2]))
ax.set_xscale("log", base=2)
ax.set_yscale("log", base=2)
ax.set_xticks(contexts, [f"{c // 1024}K" for c in contexts])
ax.set_xlabel("context (tokens)")
ticks = 2.0 ** np.arange(-4, 5)
ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
ax.set_ylabel("KV cache, GiB (one sequence, bf16)")
ax.legend(fontsize=8)
plt.show()
# --8<-- [end:context]
