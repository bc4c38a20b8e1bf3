"""How many cache bytes one token costs in real models: every shipped config, one table.

Arithmetic on each shipped config.json (`rawweights_jax.analysis`), bfloat16, batch 1.

Run on its own: python snippets/arch/kv_bytes.py
"""

import matplotlib.pyplot as plt
from matplotlib.patches import Patch

from rawweights_jax.analysis.counts import attention_kind, kv_bytes, kv_bytes_per_token_layer
from rawweights_jax.analysis.zoo import zoo_model, zoo_names
from rawweights_jax.analysis.inspector import human

# --8<-- [start:table]
CONTEXT = 32768
rows = []
for key in zoo_names():
    cfg = zoo_model(key).config
    if cfg.mla:
        shape = f"latent {cfg.kv_lora_rank} + rope key {cfg.qk_rope_dim}"
    else:
        shape = f"2 x {cfg.n_kv_heads} heads x {cfg.head_dim}"
    per_token = kv_bytes(cfg, CONTEXT) / CONTEXT          # all layers, windows applied
    rows.append((per_token, key, attention_kind(cfg).split(" +")[0], shape,
                 kv_bytes_per_token_layer(cfg), cfg.n_layers))
rows.sort()
print(f"bfloat16; 'per token' is over all layers, averaged over a {CONTEXT}-token context")
print(f"{'model':16} {'kind':5} {'cached per layer':28} {'per layer':>10} {'L':>3} "
      f"{'per token':>10}")
for per_token, key, kind, shape, per_layer, L in rows:
    print(f"{key:16} {kind:5} {shape:28} {human(per_layer, 'B'):>10} {L:>3} "
          f"{human(per_token, 'B'):>10}")

ds = zoo_model("deepseek-v3").config
expanded = ds.n_heads * (ds.qk_head_dim + ds.v_head_dim) * 2           # bytes per layer, bf16
print(f"\ndeepseek-v3 if it cached every head's key ({ds.qk_head_dim}) and value "
      f"({ds.v_head_dim}): {human(expanded, 'B')} per layer, "
      f"{expanded / kv_bytes_per_token_layer(ds):.0f}x its latent")
# --8<-- [end:table]

fig, ax = plt.subplots(figsize=(7, 4.2))
colors = {"MHA": "C0", "GQA": "C1", "MQA": "C2", "MLA": "C3"}
ax.barh([r[1] for r in rows], [r[0] / 1024 for r in rows],
        color=[colors[r[2]] for r in rows])
ax.set_xlabel(f"KV cache per token, KiB (bfloat16, {CONTEXT}-token context)")
ax.legend(handles=[Patch(color=c, label=k) for k, c in colors.items()], loc="lower right")
ax.set_title("Cache bytes one token costs, all layers")
fig.tight_layout()
plt.show()
