"""Gradient flow: how hard one batch of unseen text pushes each matrix of the student, at each
saved step of its training (the gradient of the loss, before the optimizer rescales it).

Run on its own: python snippets/training/gradient_flow.py  (once the robot student exists)
"""

import matplotlib.pyplot as plt
import numpy as np

from _weights import snapshots, val_batch
from rawweights_jax.analysis.weights import gradient_norms, kind_of, layer_of
from rwsite.claims import claim, value
from rwsite.tables import table

models, tok, run = snapshots()
steps = list(models)
first, last = steps[0], steps[-1]
L = run.model.n_layers

# --8<-- [start:grads]
tokens_BT, targets_BT = val_batch(run.model.context_len)          # 32 windows of 64 characters
grads = {step: gradient_norms(model, tokens_BT, targets_BT) for step, model in models.items()}

def pooled(norms: dict, keep) -> float:
    """The norm of several matrices' gradients taken together: sqrt of the summed squares."""
    return float(np.sqrt(sum(g ** 2 for name, g in norms.items() if keep(name))))

per_layer = {step: [pooled(g, lambda n: layer_of(n) == layer) for layer in range(L)]
             for step, g in grads.items()}
# --8<-- [end:grads]
kinds = ["Q", "K", "V", "O", "MLP in", "MLP out"]
per_kind = {step: {k: float(np.median([g[n] for n in g if kind_of(n) == k])) for k in kinds}
            for step, g in grads.items()}

print(f"gradient norm, {tokens_BT.shape[0]} windows of {tokens_BT.shape[1]} unseen characters")
print(f"(layers: all six matrices together; Q to MLP out: the median over the {L} layers)")
table(["", *(f"step {s}" for s in steps)],
      [[f"layer {layer}", *(f"{per_layer[s][layer]:.3f}" for s in steps)] for layer in range(L)]
      + [[kind_of(name), *(f"{grads[s][name]:.3f}" for s in steps)] for name in ("wte_VD", "wpe_TD")]
      + [[k, *(f"{per_kind[s][k]:.3f}" for s in steps)] for k in kinds],
      align="l" + "r" * len(steps))

qk0 = max(per_kind[first]["Q"], per_kind[first]["K"])
rest0 = min(per_kind[first][k] for k in kinds if k not in ("Q", "K"))
claim(qk0 < rest0 / 20, "at step 0 the queries' and keys' gradients are over 20x smaller than any "
      "other matrix's", qk=qk0, rest=rest0)
value("qk_ratio", f"{rest0 / qk0:.0f}")
value("qk_first", f"{qk0:.4f}")
value("qk_last", f"{max(per_kind[last]['Q'], per_kind[last]['K']):.3f}")
spread0 = max(per_layer[first]) / min(per_layer[first])
claim(spread0 < 1.3, "at step 0 every layer gets a gradient of about the same size", spread=spread0)
trained = [s for s in steps if s >= 300]
claim(all(np.argmax(per_layer[s]) == 0 for s in steps[1:]),
      "from the first snapshot on, the first layer gets the largest gradient")
ratio = [per_layer[s][0] / np.mean(per_layer[s][1:]) for s in trained]
value("first_layer_ratio_lo", f"{min(ratio):.1f}")
value("first_layer_ratio_hi", f"{max(ratio):.1f}")
drop = per_layer[first][-1] / per_layer[steps[1]][-1]
value("last_layer_drop", f"{drop:.0f}")
value("batch", f"{tokens_BT.shape[0]}")

fig, (left, right) = plt.subplots(1, 2, figsize=(4.6, 2.5), sharey=True)
for i, step in enumerate(steps):
    left.plot(range(L), per_layer[step], "o-", markersize=3, linewidth=1.2, color=f"C{i}",
              label=f"step {step}" if i == 0 else str(step))
    right.plot(range(len(kinds)), [per_kind[step][k] for k in kinds], "o-", markersize=3,
               linewidth=1.2, color=f"C{i}")
left.set_yscale("log")
left.set_xticks(range(L))
left.set_xlabel("layer", fontsize=10)
left.set_ylabel("gradient norm", fontsize=10)
left.set_title("each layer's matrices", fontsize=10)
right.set_xticks(range(len(kinds)), ["Q", "K", "V", "O", "in", "out"])
right.set_xlabel("matrix (median of 4 layers)", fontsize=10)
right.set_title("each kind of matrix", fontsize=10)
for ax in (left, right):
    ax.tick_params(labelsize=9)
fig.legend(*left.get_legend_handles_labels(), loc="lower center", ncol=len(steps), fontsize=9,
           bbox_to_anchor=(0.5, -0.1), handlelength=1.2,
           columnspacing=0.8)
fig.suptitle("Gradient norm on one batch, by layer and by matrix", fontsize=10)
fig.tight_layout(w_pad=0.6)
plt.show()
