"""Gradient norm of every layer during training, for each normalisation and learning rate.

Every 10 steps, the gradient of the loss on one fixed batch of 32 training sequences is
taken with `jax.grad`, and the norm of each block's share of it (attention, MLP and norm
weights of that layer) is kept (`benchmarks/arch_experiments.py`, `layer_grad_norms`; the
result file it wrote is read here).

Run on its own: python snippets/arch/norm_grads.py   (a second; the training: python benchmarks/arch_experiments.py norms)
"""

import matplotlib.pyplot as plt
import numpy as np

from _experiments import NORM_LRS, NORMS, norm_runs
from rwsite.claims import claim, value

runs = norm_runs()

# --8<-- [start:layers]
print("gradient norm per layer (layer 0 first) on the fixed batch")
for lr in NORM_LRS:
    print(f"peak learning rate {lr:g}")
    for name in NORMS:
        run = runs[f"{name} @ {lr:g}"]
        at = dict(zip(run["probe_steps"], run["layer_grad_norms"]))
        row = lambda s: " ".join(f"{g:7.4f}" for g in at[s])
        print(f"  {name:31} step 0: {row(0)}   step 300: {row(300)}")
# --8<-- [end:layers]

spread = {k: float((lambda g: (g.max(1) / g.min(1)).max())(np.array(r["layer_grad_norms"])))
          for k, r in runs.items()}        # largest/smallest layer, worst probe of the run
pre = {k: v for k, v in spread.items() if not k.startswith("post")}
calm = [k for k in pre if k.endswith(f"@ {NORM_LRS[0]:g}")]
value("prenorm_spread_calm", f"{max(spread[k] for k in calm):.0f}")
value("prenorm_spread_max", f"{max(pre.values()):.0f}")
value("prenorm_spread_max_run", max(pre, key=pre.get).split(" @")[0])
value("postln_high_spread", f"{spread[f'post-LN (2017) @ {NORM_LRS[1]:g}'] / 1e6:,.0f} million")
claim(max(pre.values()) < 1e3 < spread[f"post-LN (2017) @ {NORM_LRS[1]:g}"],
      "no pre-norm layer's gradient collapses, post-LN's at the high rate does", **spread)
claim(all((np.array(runs[k]["layer_grad_norms"]).argmax(1) == 0).all() for k in calm),
      "at the calm rate, layer 0's gradient is the largest of a pre-norm student at every probe")

fig, axes = plt.subplots(len(NORM_LRS), len(NORMS), figsize=(10, 4.6), sharex=True,
                         sharey=True)
for r, lr in enumerate(NORM_LRS):
    for c, name in enumerate(NORMS):
        run, ax = runs[f"{name} @ {lr:g}"], axes[r, c]
        g_SL = np.maximum(np.array(run["layer_grad_norms"]), 1e-8)
        for layer in range(g_SL.shape[1]):
            ax.plot(run["probe_steps"], g_SL[:, layer], color=f"C{layer}",
                    label=f"layer {layer}")
        ax.set_yscale("log")
        if r == 0:
            ax.set_title(name.replace(" (", "\n("), fontsize=9)
        if c == 0:
            ax.set_ylabel(f"lr {lr:g}\ngradient norm")
        if r == len(NORM_LRS) - 1:
            ax.set_xlabel("step")
axes[0, 0].legend(fontsize=7)
fig.tight_layout()
plt.show()
