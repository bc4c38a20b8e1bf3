"""The measured trade of pruning the robot student: validation loss against sparsity (magnitude
per matrix and global, and 2:4), before and after a short fine-tune that keeps the zeros, and
what the zeros do to decode speed and to one matrix product on XLA:CPU.

The benchmark (`python benchmarks/prune.py`, about six minutes on 2 cores: 15 fine-tunes)
writes the file below; this snippet only reads it, and a test re-runs its cheapest point.

Run on its own: python snippets/inference/prune_results.py   (a second)
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt

from rwsite.claims import claim, value
from rwsite.tables import table

ROOT = Path(__file__).resolve().parents[2]
RESULT = "benchmarks/results/prune-cpu-2026-12-04.json"

r = json.loads((ROOT / RESULT).read_text())
points = r["points"]
dense = points["magnitude@0.0"]["val_loss"]

# --8<-- [start:quality]
print(f"{r['device']}, {r['date']}, commit {r['commit']}; fine-tune: {r['finetune_steps']} steps "
      f"at learning rate {r['finetune_lr']:g}, zeros held at zero")
rows = []
for name, p in points.items():
    if name == "global@0.0":                  # the same model as magnitude@0.0: unpruned
        continue
    method = {"magnitude": "per matrix", "global": "global"}.get(name.split("@")[0], name)
    rows.append(["none" if p["sparsity"] == 0 else method, f"{p['sparsity']:.0%}", f"{p['val_loss']:.3f}", f"{p['val_loss'] - dense:+.3f}",
                 f"{p['finetuned_val_loss']:.3f}", f"{p['finetuned_val_loss'] - dense:+.3f}"])
table(["magnitude", "zeros", "val loss", "vs dense", "fine-tuned", "vs dense"], rows, "lrrrrr")
# --8<-- [end:quality]

fig, ax = plt.subplots(figsize=(6.4, 3.6))
for i, method in enumerate(("magnitude", "global")):
    mine = [p for n, p in points.items() if n.startswith(method + "@")]
    xs = [p["sparsity"] for p in mine]
    label = "per matrix" if method == "magnitude" else "global"
    ax.plot(xs, [p["val_loss"] for p in mine], "o--", color=f"C{i}", label=f"magnitude, {label}")
    ax.plot(xs, [p["finetuned_val_loss"] for p in mine], "o-", color=f"C{i}",
            label=f"magnitude, {label}, fine-tuned")
two = points["2:4"]
ax.plot([two["sparsity"]], [two["val_loss"]], "s", color="C3", mfc="none", ms=8, label="2:4")
ax.plot([two["sparsity"]], [two["finetuned_val_loss"]], "s", color="C3", ms=8, label="2:4, fine-tuned")
ax.axhline(dense, color="0.5", linewidth=0.8, label="dense")
ax.set_ylim(dense - 0.05, max(p["val_loss"] for p in points.values()) + 0.1)
ax.set_xlabel("share of the matrices' weights set to zero")
ax.set_ylabel("validation loss (nats per character)")
ax.set_title("The robot student, pruned")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# --8<-- [start:speed]
print(f"batch-1 decode, {r['speed_preset']} shape, {r['new_tokens']} tokens, "
      f"median of {r['rounds']} interleaved rounds (slowest, fastest)")
table(["matrices", "tokens/s", "range", "x dense"],
      [[k, f"{r[f'decode_{k}_tokens_per_second']:.0f}",
        "{:.0f} to {:.0f}".format(*r[f"decode_{k}_tokens_per_second_range"]),
        f"{r[f'decode_{k}_speedup']:.2f}"]
       for k in ("dense", "magnitude@0.5", "magnitude@0.9", "2:4")], "lrrr")
shape = "x".join(map(str, r["bcoo_matrix_shape"]))
print(f"x @ W, W one {shape} MLP matrix: microseconds per product (dense, or BCOO with only the non-zeros)")
table(["W", "stored values", "batch 1", "x dense", "batch 8", "x dense"],
      [["dense", r["bcoo_matrix_shape"][0] * r["bcoo_matrix_shape"][1],
        f"{r['matmul_dense_b1_microseconds']:.0f}", "1.00", f"{r['matmul_dense_b8_microseconds']:.0f}", "1.00"]]
      + [[f"BCOO, {s:.0%} zeros", r[f"bcoo@{s}_stored_values"],
          f"{r[f'matmul_bcoo@{s}_b1_microseconds']:.0f}", f"{r[f'matmul_bcoo@{s}_b1_speedup']:.2f}",
          f"{r[f'matmul_bcoo@{s}_b8_microseconds']:.0f}", f"{r[f'matmul_bcoo@{s}_b8_speedup']:.2f}"]
         for s in (0.5, 0.9)], "lrrrrr")
# --8<-- [end:speed]

loss = lambda name, key="val_loss": points[name][key] - dense
value("dense_loss", f"{dense:.3f}")
for name, tag in (("magnitude@0.5", "m50"), ("magnitude@0.7", "m70"), ("magnitude@0.9", "m90"),
                  ("global@0.9", "g90"), ("2:4", "two")):
    value(f"{tag}_loss", f"{loss(name):+.3f}")
    value(f"{tag}_tuned", f"{loss(name, 'finetuned_val_loss'):+.3f}")
value("m25_loss", f"{loss('magnitude@0.25'):+.3f}")
value("control_tuned", f"{loss('magnitude@0.0', 'finetuned_val_loss'):+.3f}")
value("steps", str(r["finetune_steps"]))
value("lr", f"{r['finetune_lr']:g}")
for k, tag in (("magnitude@0.5", "m50"), ("magnitude@0.9", "m90"), ("2:4", "2of4")):
    value(f"decode_{tag}", f"{r[f'decode_{k}_speedup']:.2f}")
for s in (0.5, 0.9):
    value(f"bcoo_{int(s * 100)}_b1", f"{r[f'matmul_bcoo@{s}_b1_speedup']:.2f}")

claim(all(p["finetuned_sparsity"] == p["sparsity"] for p in points.values()),
      "the fine-tune leaves every pruned weight at zero")
claim(all(p["finetuned_val_loss"] < p["val_loss"] for n, p in points.items() if p["sparsity"] >= 0.5),
      "the fine-tune lowers the loss of every point at 50% zeros or more")
claim(abs(loss("magnitude@0.25")) < 0.01, "a quarter of the weights pruned by magnitude costs under 0.01 nats")
claim(abs(loss("magnitude@0.5", "finetuned_val_loss") - loss("magnitude@0.0", "finetuned_val_loss")) < 0.01,
      "fine-tuned, 50% per matrix is within 0.01 nats of the dense model fine-tuned the same way")
tuned = [points[f"magnitude@{s}"]["finetuned_val_loss"] for s in (0.5, 0.6, 0.7, 0.8, 0.9)]
claim(tuned == sorted(tuned), "past 50%, the fine-tuned loss rises with every step of sparsity")
claim(all(points[f"global@{s}"]["val_loss"] < points[f"magnitude@{s}"]["val_loss"] for s in (0.5, 0.6, 0.7, 0.8, 0.9)),
      "before the fine-tune, global thresholds beat per-matrix ones at every sparsity from 50%")
claim(all(points[f"global@{s}"]["finetuned_val_loss"] >= points[f"magnitude@{s}"]["finetuned_val_loss"] - 0.002
          for s in (0.7, 0.8, 0.9)),
      "after it, per-matrix pruning is as good or better from 70% on")
claim(points["2:4"]["val_loss"] > points["magnitude@0.5"]["val_loss"],
      "2:4 costs more than unstructured pruning at the same 50%")
claim(all(abs(r[f"decode_{k}_speedup"] - 1) < 0.15 for k in ("magnitude@0.5", "magnitude@0.9", "2:4")),
      "zeros in dense matrices change batch-1 decode speed by less than 15% on XLA:CPU")
claim(all(r[f"matmul_bcoo@{s}_b{b}_speedup"] < 1 for s in (0.5, 0.9) for b in (1, 8)),
      "a BCOO product is slower than the dense one, even at 90% zeros")
