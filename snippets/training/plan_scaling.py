"""The fastest split of Llama 3.1 70B's training that fits, on 8 to 1,024 H100s, same batch.

Arithmetic only (rawweights_jax/analysis/planner.py): no model is built, nothing is trained.

Run on its own: python snippets/training/plan_scaling.py   (a few seconds)
"""

import matplotlib.pyplot as plt

from rawweights_jax.analysis.accelerators import accelerator
from rawweights_jax.analysis.planner import plan
from rawweights_jax.analysis.zoo import zoo_model
from rwsite.claims import claim, value
from rwsite.tables import table

GiB = 2**30
cfg = zoo_model("llama-3.1-70b").config
h100 = accelerator("h100-sxm")
BATCH, CONTEXT = 1024, 8192                  # 8.4M tokens per step, as on the 64-GPU table
# --8<-- [start:scaling]
rows, sizes, state, acts, mfus = [], [], [], [], []
for gpus in (8, 16, 32, 64, 128, 256, 512, 1024):
    fits = plan(cfg, h100, gpus, BATCH, CONTEXT)["fits"]
    if not fits:
        rows.append([gpus, "none fits", "", "", ""])
        continue
    r = fits[0]
    m = r["memory"]
    sizes.append(gpus)
    acts.append((m["activations"] + m["logits"]) / GiB)
    state.append((m["total"] - m["activations"] - m["logits"]) / GiB)
    mfus.append(r["mfu"])
    rows.append([gpus, r["split"], f"{m['total'] / GiB:.0f} GiB", f"{r['time']['step']:.2f}",
                 f"{r['mfu']:.0%}"])
table(["GPUs", "fastest split that fits", "memory/GPU", "step (s)", "MFU"], rows)
# --8<-- [end:scaling]
value("min_gpus", str(sizes[0]))
value("mfu_1024", f"{mfus[-1]:.0%}")
value("mfu_128", f"{mfus[sizes.index(128)]:.0%}")
value("bubble_1024", f"{plan(cfg, h100, 1024, BATCH, CONTEXT)['fits'][0]['time']['bubble']:.0%}")
claim(rows[0][1] == "none fits", "no split of Llama 3.1 70B trains on a single 8-GPU H100 node")
claim(mfus[-1] < mfus[sizes.index(128)] < mfus[sizes.index(64)] + 1e-9,
      "beyond 64 GPUs the estimated MFU falls as the same batch is spread thinner")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7, 3.4))
ax1.bar(range(len(sizes)), state, color="C0", label="weights, grads, Adam")
ax1.bar(range(len(sizes)), acts, bottom=state, color="C1", label="activations, logits")
ax1.axhline(h100.hbm_bytes / GiB, color="C3", ls="--", lw=1, label="H100 memory")
ax1.set_xticks(range(len(sizes)), [str(s) for s in sizes], rotation=45)
ax1.set_xlabel("GPUs")
ax1.set_ylabel("GiB per GPU")
ax1.set_ylim(0, 130)                        # room for the legend above the bars
ax1.legend(fontsize=8, loc="upper left")
ax2.plot(sizes, [100 * m for m in mfus], "o-", color="C2")
ax2.set_xscale("log", base=2)
ax2.set_xticks(sizes, [str(s) for s in sizes], rotation=45)
ax2.set_xlabel("GPUs")
ax2.set_ylabel("estimated MFU (%)")
ax2.set_ylim(0, 100)
fig.suptitle("Llama 3.1 70B, 1,024 x 8,192 tokens per step, fastest split that fits", fontsize=10)
plt.show()
