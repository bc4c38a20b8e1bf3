"""Where the router sends tokens while a tiny MoE learns: no balancing, aux loss, or biases.

The three runs come from `_moe_run.moe_runs()` (trained once, reused by later builds). Load
is measured on one fixed batch of 2048 validation tokens at each snapshot.

Run on its own: python snippets/arch/moe_train.py   (trains first if needed, about a minute)
"""

import matplotlib.pyplot as plt
import numpy as np

from _moe_run import base_config, moe_runs
from rwsite.claims import heatmap

runs = moe_runs()
run = base_config()
cfg = run.model
E, k = cfg.n_experts, cfg.experts_per_token

# --8<-- [start:loads]
print(f"{cfg.n_layers} MoE layers x {E} experts, top-{k}, {run.train.max_iters} steps. Load: share of")
print(f"the 2048 x {k} choices on a fixed validation batch, at the last step.")
print(f"{'balancing':9} {'val loss':>8}  {'busiest expert / even, L1, L2':>29}  "
      f"{'experts under 2%':>16}")
for name, run in runs.items():
    load_SLE = np.array(run["load_SLE"], float)
    share_LE = load_SLE[-1] / load_SLE[-1].sum(-1, keepdims=True)   # the final step
    busiest = ", ".join(f"{x:.1f}x" for x in share_LE.max(-1) * E)
    idle = int((share_LE < 0.02).sum())
    print(f"{name:9} {run['eval'][-1]['val_loss']:8.3f}  {busiest:>29}  {idle:>16}")
# --8<-- [end:loads]

steps = runs["none"]["steps"]
fig, axes = plt.subplots(1, 3, figsize=(10, 3.8), sharey=True)
for ax, (name, run) in zip(axes, runs.items()):
    load_SLE = np.array(run["load_SLE"], float)
    share_SX = (load_SLE / load_SLE.sum(-1, keepdims=True)).reshape(len(steps), -1)
    im = ax.imshow(100 * share_SX.T, aspect="auto", cmap="viridis", vmin=0, vmax=40,
                   interpolation="nearest")
    heatmap("load_" + name.replace(" ", "_"), im, [f"L{l + 1} e{e}" for l in range(cfg.n_layers) for e in range(E)],
            [str(s) for s in steps], row_title="expert", col_title="training step")
    ax.axhline(E - 0.5, color="white", lw=2)                 # layer 1 above, layer 2 below
    ax.set_xticks(range(len(steps)), [str(s) if i % 2 == 0 else "" for i, s in
                                      enumerate(steps)])
    ax.set_title(name)
    ax.set_xlabel("training step")
axes[0].set_yticks(range(cfg.n_layers * E),
                   [f"L{l + 1} e{e}" for l in range(cfg.n_layers) for e in range(E)],
                   fontsize=7)
fig.colorbar(im, ax=axes, label="% of the layer's choices (even: 12.5)")
plt.show()

fig, ax = plt.subplots(figsize=(7, 3.2))
for i, (name, run) in enumerate(runs.items()):
    load_SLE = np.array(run["load_SLE"], float)
    worst_S = (load_SLE.max(-1) / load_SLE.mean(-1)).max(-1)       # busiest expert, worst layer
    ax.plot(steps, worst_S, marker="o", color=f"C{i}", label=name)
ax.axhline(1, color="C7", lw=1, ls="--")
ax.set_xlabel("training step")
ax.set_ylabel("busiest expert / even share")
ax.legend()
plt.show()
