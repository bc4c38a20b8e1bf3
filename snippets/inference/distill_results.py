"""Distillation measured: what a student 7x smaller learns from the robot student's soft
targets, against the same student trained on the right characters alone.

The training (six students x 2,000 steps, about five minutes of a 2-core CPU) is more than a
page may cost on a cold build, so it is a benchmark: `benchmarks/distill.py` trains every run
through `rawweights_jax/train/distill.py` (same initial weights, same batches, same schedule;
only the loss differs) and writes the result file below, with the device, the date, the command
and the library commit. This snippet only reads that file; a test re-runs the benchmark's
cheapest point and checks it against the file.

Run on its own: python snippets/inference/distill_results.py   (a second)
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt

from rwsite.claims import claim, value
from rwsite.tables import table

ROOT = Path(__file__).resolve().parents[2]
RESULT = "benchmarks/results/distill-cpu-2026-12-04.json"

r = json.loads((ROOT / RESULT).read_text())
teacher, runs = r["teacher"], r["runs"]
hard, soft = runs["hard labels"], runs["soft, T=2"]

# --8<-- [start:table]
print(f"run by benchmarks/distill.py on {r['device']}, {r['date']}, library commit {r['commit']}")
print(f"teacher: {teacher['n_layers']} layers of width {teacher['d_model']}, {teacher['params']:,} "
      f"parameters; student: {r['student']['model']['n_layers']} layers of width "
      f"{r['student']['model']['d_model']}, {hard['params']:,}")
rows = [["teacher", "", "", "", f"{teacher['val_loss']:.3f}", "", ""]]
for name, run in runs.items():
    same_seed_hard = next(h for h in runs.values() if h["alpha"] == 0 and h["seed"] == run["seed"])
    rows.append([name, f"{run['temperature']:g}", f"{run['alpha']:g}", run["seed"], f"{run['val_loss']:.3f}",
                 f"{run['val_loss'] - same_seed_hard['val_loss']:+.3f}", f"{run['train_seconds']:.0f}"])
table(["", "T", "alpha", "seed", "val loss", "vs hard", "train s"], rows, align="lrrrrrr")
# --8<-- [end:table]

fig, ax = plt.subplots(figsize=(6.4, 3.6))
for i, name in enumerate(["hard labels", "soft, T=2", "soft only, T=2", "soft, T=4"]):
    steps = [e["step"] for e in runs[name]["eval"]]
    ax.plot(steps, [e["val_loss"] for e in runs[name]["eval"]], color=f"C{i}", label=name)
ax.axhline(teacher["val_loss"], color="C4", linestyle="--", label=f"teacher ({teacher['params'] / 1e6:.1f}M)")
ax.set_ylim(1.8, 2.9)
ax.set_xlabel("optimizer step")
ax.set_ylabel("validation loss (nats per character)")
ax.set_title(f"A {hard['params'] / 1e3:.0f}k-parameter student, the same batches, four losses")
ax.legend()
plt.show()

# The numbers the page's prose cites, and what the data shows about them.
seeds = sorted({run["seed"] for run in runs.values()})
by = lambda alpha, t, seed: next(x for x in runs.values()
                                 if x["alpha"] == alpha and x["temperature"] == t and x["seed"] == seed)
gaps = [by(0, 1, s)["val_loss"] - by(0.5, 2, s)["val_loss"] for s in seeds]
spread = max(abs(by(0, 1, seeds[0])["val_loss"] - by(0, 1, seeds[1])["val_loss"]),
             abs(by(0.5, 2, seeds[0])["val_loss"] - by(0.5, 2, seeds[1])["val_loss"]))
hard_end = hard["eval"][-1]["val_loss"]
match = next(e["step"] for e in soft["eval"] if e["val_loss"] <= hard_end)
value("teacher_params", f"{teacher['params']:,}")
value("student_params", f"{hard['params']:,}")
value("size_ratio", f"{teacher['params'] / hard['params']:.1f}")
value("teacher_val", f"{teacher['val_loss']:.3f}")
value("hard_val", f"{hard['val_loss']:.3f}")
value("soft_val", f"{soft['val_loss']:.3f}")
value("soft_only_val", f"{runs['soft only, T=2']['val_loss']:.3f}")
value("soft_t4_val", f"{runs['soft, T=4']['val_loss']:.3f}")
value("gap_min", f"{min(gaps):.3f}")
value("gap_max", f"{max(gaps):.3f}")
value("seed_spread", f"{spread:.3f}")
value("gap_closed", f"{gaps[seeds.index(hard['seed'])] / (hard['val_loss'] - teacher['val_loss']):.0%}")
value("match_step", f"{match:,}")
value("time_ratio", f"{soft['train_seconds'] / hard['train_seconds']:.1f}")
claim(min(gaps) > spread, "at both seeds, soft targets beat hard labels by more than the seed-to-seed spread",
      gaps=gaps, spread=spread)
claim(abs(runs["soft, T=4"]["val_loss"] - soft["val_loss"]) < spread, "T = 4 and T = 2 end within the seed spread")
claim(abs(runs["soft only, T=2"]["val_loss"] - soft["val_loss"]) < spread,
      "soft targets alone and half-and-half end within the seed spread")
claim(teacher["val_loss"] < min(run["val_loss"] for run in runs.values()), "the teacher stays ahead of every student")
claim(soft["train_seconds"] > hard["train_seconds"], "a distillation step costs more than a hard-label step")
