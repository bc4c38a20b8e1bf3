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
rows = [[name, run["ms_per_step"], run["final_train_loss"], run["val_loss"]]
        for name, run in runs.items() if run["group"] != "stability"]
table(["run", "ms/step", "train loss (last 10)", "val loss"], rows, align="lrrr")

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
    value(f"{name}_ms", f"{run['ms_per_step']:.1f}")
value("iters", f"{r['iters']}")
value("bf16_speed", f"{base['ms_per_step'] / bf16['ms_per_step']:.2f}")
value("muon_cost", f"{muon['ms_per_step'] / base['ms_per_step']:.1f}")
value("bf16_gap", f"{abs(bf16['val_loss'] - base['val_loss']):.3f}")
claim(all(not run["diverged"] for run in (base, wsd, const, bf16, muon)), "none of these runs diverged")
claim(min(base["val_loss"], wsd["val_loss"]) < const["val_loss"],
      "a schedule that decays beats the constant learning rate",
      cosine=base["val_loss"], wsd=wsd["val_loss"], constant=const["val_loss"])
claim(muon["ms_per_step"] > base["ms_per_step"], "a Muon step costs more than an AdamW step")
