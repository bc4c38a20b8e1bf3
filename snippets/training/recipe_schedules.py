"""Three schedules, bf16 against f32, Muon against AdamW: the same preset, the same batches,
one change per run (benchmarks/results/recipe-cpu-*.json, see _recipe.py).

Run on its own: python snippets/training/recipe_schedules.py   (a second)
"""

import matplotlib.pyplot as plt

from _recipe import load, provenance
from rwsite.claims import claim, value
from rwsite.tables import table

r, runs = load()
print(provenance(r))
# (ms per step is in the file too, but these runs shared a busy 2-core machine with other
# jobs: runs of the same cost differ by 4x there, so the page does not compare speeds.)
rows = [[name, run["final_train_loss"], run["val_loss"]]
        for name, run in runs.items() if run["group"] != "stability"]
table(["run", "train loss (last 10)", "val loss"], rows, align="lrr")

fig, (ax_lr, ax_loss) = plt.subplots(1, 2, figsize=(7.2, 3.2))
for i, name in enumerate(["cosine", "wsd", "constant"]):
    curve = runs[name]["loss_curve"]
    ax_lr.plot(curve["step"], curve["lr"], color=f"C{i}", label=name)
    ax_loss.plot(curve["step"], curve["loss"], color=f"C{i}", label=name)
ax_lr.set_xlabel("step")
ax_lr.set_ylabel("learning rate")
ax_lr.set_title("The schedules")
ax_loss.set_xlabel("step")
ax_loss.set_ylabel("training loss")
ax_loss.set_ylim(1.4, 3.0)
ax_loss.set_title("Their losses")
ax_loss.legend()
fig.tight_layout()
plt.show()

fig, (ax_dtype, ax_opt) = plt.subplots(1, 2, figsize=(7.2, 3.2))
for ax, names, title in ((ax_dtype, ["cosine", "bfloat16"], "float32 vs bfloat16 compute"),
                         (ax_opt, ["cosine", "muon"], "AdamW vs Muon")):
    for i, name in enumerate(names):
        curve = runs[name]["loss_curve"]
        label = {"cosine": "float32, AdamW"}.get(name, name)
        ax.plot(curve["step"], curve["loss"], color=f"C{i}", label=label)
    ax.set_xlabel("step")
    ax.set_ylim(1.4, 3.0)
    ax.set_title(title)
    ax.legend()
ax_dtype.set_ylabel("training loss")
fig.tight_layout()
plt.show()

base, wsd, const, bf16, muon = (runs[n] for n in ("cosine", "wsd", "constant", "bfloat16", "muon"))
for name, run in (("cosine", base), ("wsd", wsd), ("constant", const), ("bf16", bf16), ("muon", muon)):
    value(f"{name}_val", f"{run['val_loss']:.3f}")
value("iters", f"{r['iters']}")
value("bf16_gap", f"{abs(bf16['val_loss'] - base['val_loss']):.4f}")
claim(all(not run["diverged"] for run in (base, wsd, const, bf16, muon)), "none of these runs diverged")
claim(wsd["val_loss"] < min(base["val_loss"], const["val_loss"]), "wsd ends below cosine and constant",
      cosine=base["val_loss"], wsd=wsd["val_loss"], constant=const["val_loss"])
claim(abs(base["val_loss"] - const["val_loss"]) < 0.01, "cosine and constant end within 0.01")
claim(abs(bf16["val_loss"] - base["val_loss"]) < 0.005, "bf16 and f32 end within 0.005")
claim(muon["val_loss"] < base["val_loss"] - 0.1, "Muon ends more than 0.1 below AdamW")
