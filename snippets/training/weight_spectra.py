"""The spectrum of every matrix of the student, and the exponent alpha of a power law fitted to
its tail (the eigenvalues of W^T W, as WeightWatcher does, here in a few lines of NumPy): at
initialisation, where the matrices are random, and at each saved step of training.

Run on its own: python snippets/training/weight_spectra.py  (once the robot student exists)
"""

import matplotlib.pyplot as plt
import numpy as np

from _weights import history, snapshots
from rawweights_jax.analysis.weights import (eigenvalues, fit_power_law, kind_of, layer_of,
                                             singular_values, weight_matrices)
from rwsite.claims import claim, value
from rwsite.tables import table

models, tok, run = snapshots()
steps = list(models)
first, last = steps[0], steps[-1]
L = run.model.n_layers

# --8<-- [start:fit]
fits = {}                                   # (step, name) -> PowerLawFit of W^T W's eigenvalues
for step, model in models.items():
    for name, w_IO in weight_matrices(model).items():
        fits[step, name] = fit_power_law(eigenvalues(w_IO))

names = [name for name in weight_matrices(models[last]) if layer_of(name) is not None]
kinds = sorted({kind_of(name) for name in names}, key=["Q", "K", "V", "O", "MLP in", "MLP out"].index)
alpha = lambda step, layer, kind: next(fits[step, n].alpha for n in names
                                       if layer_of(n) == layer and kind_of(n) == kind)
# --8<-- [end:fit]

print(f"alpha of each matrix at step {last}")
table(["layer", *kinds], [[str(layer), *(f"{alpha(last, layer, k):.1f}" for k in kinds)]
                          for layer in range(L)], align="l" + "r" * len(kinds))
block = {step: np.array([fits[step, n].alpha for n in names]) for step in steps}
tails = {step: np.array([fits[step, n].n_tail for n in names]) for step in steps}
for step in steps:
    a = block[step]
    print(f"step {step:>4}: alpha {a.min():.1f} to {a.max():.1f}, median {np.median(a):.1f}; "
          f"tail {int(np.median(tails[step]))}")
for name in ("wte_VD", "wpe_TD"):
    print(f"{kind_of(name):>9}: alpha {fits[first, name].alpha:.1f} -> {fits[last, name].alpha:.1f}")

claim(np.median(block[first]) > 4, "at the random start the median fitted alpha is above 4")
claim(block[last].max() < block[first].min(),
      "at the end every block matrix has a smaller alpha than any block matrix had at the start",
      last=block[last].max(), first=block[first].min())
claim(np.median(tails[last]) > 2 * np.median(tails[first]), "the fitted tail grows with training")
claim(all(np.median(block[a]) >= np.median(block[b]) for a, b in zip(steps[1:], steps[2:])),
      "after the first snapshot the median alpha only falls")
value("alpha_first_median", f"{np.median(block[first]):.1f}")
value("alpha_first_lo", f"{block[first].min():.1f}")
value("alpha_first_hi", f"{block[first].max():.1f}")
value("alpha_last_median", f"{np.median(block[last]):.1f}")
value("alpha_last_lo", f"{block[last].min():.1f}")
value("alpha_last_hi", f"{block[last].max():.1f}")
value("tail_first", str(int(np.median(tails[first]))))
value("tail_last", str(int(np.median(tails[last]))))
below2 = int(np.sum(block[last] < 2))
claim(below2 > len(names) / 2, "most block matrices end with alpha below 2", below=below2)
value("below_two", str(below2))
evals = history()["eval"]                   # the run's own evaluations on the validation split
val = [e["val_loss"] for e in evals]
claim(val[-1] == min(val), "the validation loss is still falling at the last step", val=val)
value("val_last", f"{val[-1]:.3f}")
value("val_before", f"{val[-2]:.3f}")
value("val_before_step", str(evals[-2]["step"]))
value("n_block", str(len(names)))
by_kind = {k: np.median([alpha(last, layer, k) for layer in range(L)]) for k in kinds}
print("median alpha at the end: " + ", ".join(f"{k} {a:.2f}" for k, a in by_kind.items()))
claim(set(sorted(by_kind, key=by_kind.get)[:2]) == {"O", "MLP out"},
      "the two matrices that write into the residual stream, O and MLP out, have the smallest alphas")
value("writers_hi", f"{max(by_kind['O'], by_kind['MLP out']):.1f}")
value("readers_lo", f"{min(a for k, a in by_kind.items() if k not in ('O', 'MLP out')):.1f}")

# The spectra themselves: each layer's six matrices at the end, singular values largest first.
mats = {step: weight_matrices(models[step]) for step in (first, last)}
fig, axes = plt.subplots(1, L, figsize=(4.6, 2.5), sharey=True)
for layer, ax in enumerate(axes):
    for i, kind in enumerate(kinds):
        name = next(n for n in names if layer_of(n) == layer and kind_of(n) == kind)
        ax.plot(np.arange(1, 129), singular_values(mats[last][name])[:128], color=f"C{i}",
                linewidth=1.2, label=kind)
    start = next(n for n in names if layer_of(n) == layer and kind_of(n) == "MLP in")
    ax.plot(np.arange(1, 129), singular_values(mats[first][start]), color="C7", linestyle="--",
            linewidth=1.0, label=f"MLP in, step {first}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks([1, 100], ["1", "100"])
    ax.minorticks_off()
    ax.set_title(f"layer {layer}", fontsize=10)
    ax.tick_params(labelsize=9)
axes[0].set_ylabel("singular value", fontsize=10)
fig.supxlabel("rank (largest first)", fontsize=10)
fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=4, fontsize=9,
           bbox_to_anchor=(0.5, -0.18), handlelength=1.2, columnspacing=0.8)
fig.suptitle(f"Singular values of each layer's matrices at step {last}", fontsize=10)
fig.tight_layout(w_pad=0.3)
plt.show()

# The fit on one matrix, and alpha along the run.
show = next(n for n in names if layer_of(n) == 2 and kind_of(n) == "MLP in")
fig, (left, right) = plt.subplots(1, 2, figsize=(4.6, 2.6))
for i, step in enumerate((first, last)):
    lam = np.sort(eigenvalues(mats[step][show]))
    ccdf = 1.0 - np.arange(len(lam)) / len(lam)            # share of eigenvalues >= each one
    colour = "C7" if step == first else "C0"
    left.plot(lam, ccdf, ".", markersize=3, color=colour, label=f"step {step}")
    fit = fits[step, show]
    x = np.geomspace(fit.xmin, lam[-1], 20)
    share = fit.n_tail / len(lam)
    left.plot(x, share * (x / fit.xmin) ** (1 - fit.alpha), color=colour, linewidth=1.2,
              label=f"α = {fit.alpha:.1f}")
left.set_xscale("log")
left.set_yscale("log")
left.set_xlabel("eigenvalue λ of WᵀW", fontsize=10)
left.set_ylabel("share ≥ λ", fontsize=10)
left.set_title(f"layer 2, MLP in", fontsize=10)
left.legend(fontsize=9, handlelength=1.0, loc="lower left")
left.tick_params(labelsize=9)
for k, kind in enumerate(kinds):
    ys = [np.median([alpha(step, layer, kind) for layer in range(L)]) for step in steps]
    right.plot(range(len(steps)), ys, "o-", markersize=3, linewidth=1.2, color=f"C{k}", label=kind)
right.set_xticks(range(len(steps)), [f"{s // 1000}k" if s >= 1000 else str(s) for s in steps], fontsize=9)
right.set_xlabel("step", fontsize=10)
right.set_ylabel("α (median of 4 layers)", fontsize=10)
right.axhspan(2, 6, color="C2", alpha=0.1, linewidth=0)     # Martin & Mahoney's "trained" band
right.text(len(steps) - 1, 5.8, "2 ≤ α ≤ 6", ha="right", va="top", fontsize=9)
right.tick_params(labelsize=9)
fig.legend(*right.get_legend_handles_labels(), loc="lower center", ncol=6, fontsize=9,
           bbox_to_anchor=(0.5, -0.1), handlelength=1.0, columnspacing=0.6, handletextpad=0.3)
fig.suptitle("The tail fit on one matrix, and α along the run", fontsize=10)
fig.tight_layout(w_pad=0.8)
plt.show()
