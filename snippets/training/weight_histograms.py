"""How the student's weights spread out as it trains: a histogram of every entry of each
layer's six matrices, at the five steps the run was saved, and the numbers behind them.

Run on its own: python snippets/training/weight_histograms.py  (once the robot student exists)
"""

import matplotlib.pyplot as plt
import numpy as np

from _weights import snapshots
from rawweights_jax.analysis.weights import layer_of, weight_matrices, weight_stats
from rwsite.claims import claim, value
from rwsite.tables import table

models, tok, run = snapshots()
steps = list(models)
L = run.model.n_layers

# --8<-- [start:pool]
start = weight_matrices(models[0])
sigma0 = {name: w.std() for name, w in start.items()}   # each matrix's spread at initialisation

def layer_entries(model) -> list[np.ndarray]:
    """Each layer's matrices (Q, K, V, O, MLP in, MLP out), every entry divided by its matrix's
    spread at step 0: the MLP's out matrix starts 2.8x narrower than its in matrix (GPT-2's
    scaled init), and pooled raw they would read as one odd, peaked distribution."""
    mats = weight_matrices(model)
    return [np.concatenate([w.ravel() / sigma0[name] for name, w in mats.items() if layer_of(name) == layer])
            for layer in range(L)]

entries = {step: layer_entries(model) for step, model in models.items()}   # step -> [L arrays]
spread = {step: [x.std() for x in per_layer] for step, per_layer in entries.items()}
kurtosis = {step: [np.mean([weight_stats(w).kurtosis for name, w in weight_matrices(model).items()
                            if layer_of(name) == layer]) for layer in range(L)]
            for step, model in models.items()}              # the mean over the layer's matrices
# --8<-- [end:pool]

first, last = steps[0], steps[-1]
rows = [[f"{layer}", *(f"{spread[s][layer]:.2f}" for s in steps),
         f"{kurtosis[first][layer]:+.2f}", f"{kurtosis[last][layer]:+.2f}",
         f"{np.abs(entries[last][layer]).max():.1f}"] for layer in range(L)]
print("spread in units of each matrix's starting spread; kurtosis: the mean of the six matrices'")
table(["layer", *(f"spread @{s}" for s in steps), f"kurt. @{first}", f"kurt. @{last}", f"max |w| @{last}"],
      rows, align="l" + "r" * (len(steps) + 3))

growth = spread[last]
print(f"spread at step {last} over step {first}: " + ", ".join(f"{g:.2f}x" for g in growth))
early = max(abs(spread[steps[1]][layer] - 1) for layer in range(L))
claim(early < 0.05, "after the first snapshot every layer's spread is within 5% of its start", early=early)
claim(min(growth) > 1.4, "every layer's entries spread out by more than 1.4x", growth=growth)
claim(all(abs(k) < 0.1 for k in kurtosis[first]),
      "at step 0 the entries are Gaussian (excess kurtosis near 0)")
claim(all(k > 0.3 for k in kurtosis[last]),
      "at the end every layer has heavier tails than a Gaussian")
value("growth_min", f"{min(growth):.1f}")
value("growth_max", f"{max(growth):.1f}")
value("kurt_min", f"{min(kurtosis[last]):.1f}")
value("kurt_max", f"{max(kurtosis[last]):.1f}")
value("max_init", f"{max(np.abs(x).max() for x in entries[first]):.1f}")
value("max_last", f"{max(np.abs(x).max() for x in entries[last]):.1f}")
value("early_change", f"{100 * early:.1f}%")
value("last_step", str(last))
value("first_snapshot", str(steps[1]))
value("snapshot_steps", ", ".join(str(s) for s in steps[1:-1]))
value("n_layers", str(L))
value("n_heads", str(run.model.n_heads))
value("d_model", str(run.model.d_model))
value("init_std", f"{run.model.init_std:g}")
value("warmup", str(run.train.warmup_iters))
value("lr", f"{run.train.lr:g}")
claim(steps[1] < run.train.warmup_iters, "the first snapshot falls inside the learning-rate warm-up")

edges = np.linspace(-12, 12, 61)
fig, axes = plt.subplots(1, L, figsize=(4.6, 2.4), sharex=True, sharey=True)
for layer, ax in enumerate(axes):
    for i, step in enumerate(steps):
        density, _ = np.histogram(entries[step][layer], edges, density=True)
        ax.stairs(density, edges, color=f"C{i}", linewidth=1.2, label=f"step {step}" if i == 0 else str(step))
    ax.set_yscale("log")
    ax.set_title(f"layer {layer}", fontsize=10)
    ax.set_xticks([-8, 0, 8])
    ax.tick_params(axis="x", labelsize=9)
    ax.tick_params(axis="y", labelsize=9)
axes[0].set_ylabel("density (log)", fontsize=10)
fig.supxlabel("weight / its spread at step 0", fontsize=10)
fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=len(steps),
           fontsize=9, bbox_to_anchor=(0.5, -0.1),
           handlelength=1.2, columnspacing=0.8)
fig.suptitle("Each layer's weights, in units of their spread at step 0", fontsize=10)
fig.tight_layout(w_pad=0.3)
plt.show()
