"""Pretrained against from scratch, and the answer-only loss against the loss on every
character: the SFT part of `rawweights bench posttrain`, read from its committed result file.

Run on its own: python snippets/posttrain/sft_results.py   (a second)
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from rwsite.claims import claim, value
from rwsite.tables import table

RESULT = "benchmarks/results/posttrain-sft-cpu-2026-12-04.json"
r = json.loads((Path(__file__).resolve().parents[2] / RESULT).read_text())
print(f"measured by `{r['command']}` on {r['device']}, {r['date']}, library commit {r['commit']}")
runs, names = r["runs"], r["tasks"]
labels = {"sft": "pretrained, answer loss", "scratch": "from scratch, answer loss",
          "all_chars": "pretrained, loss on all characters"}
rows = [[labels[k]] + [f"{run['tasks'][n]['accuracy']:.0%}" for n in names] + [f"{run['task_accuracy']:.0%}"]
        for k, run in runs.items()]
table(["model"] + names + ["mean"], rows, align="l" + "r" * (len(names) + 1))
rows = [[labels[k]] + [f"{run['tasks'][n]['test_loss']:.3f}" for n in names] for k, run in runs.items()]
table(["held-out loss on answers"] + names, rows, align="l" + "r" * len(names))

fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(7.2, 3.2))
for i, key in enumerate(("sft", "scratch")):
    curve = runs[key]["curve"]
    ax_loss.plot(curve["step"], curve["loss"], color=f"C{i}", label=key)
ax_loss.set_xlabel("step")
ax_loss.set_ylabel("loss on answer characters")
ax_loss.set_title("Training loss")
ax_loss.legend()
x = np.arange(len(names))
for i, key in enumerate(runs):
    ax_acc.bar(x + (i - 1) * 0.27, [runs[key]["tasks"][n]["accuracy"] for n in names], 0.27,
               color=f"C{i}", label={"all_chars": "all chars"}.get(key, key))
ax_acc.set_xticks(x, names)
ax_acc.set_ylabel("held-out accuracy")
ax_acc.set_ylim(0, 1)
ax_acc.set_title("Graded answers")
ax_acc.legend()
fig.tight_layout()
plt.show()

for key in runs:
    value(f"{key}_mean", f"{runs[key]['task_accuracy']:.0%}")
    for n in names:
        value(f"{key}_{n}", f"{runs[key]['tasks'][n]['accuracy']:.0%}")
value("steps", str(r["steps"]))
value("batch", str(r["batch"]))
value("train_examples", f"{r['train_examples']:,}")
value("n_test", str(r["test_examples_per_task"]))
value("sft_seconds", f"{runs['sft']['seconds']:.0f}")
claim(r["sft_task_accuracy"] > r["scratch_task_accuracy"], "the pretrained student beats the one "
      "trained from scratch", sft=r["sft_task_accuracy"], scratch=r["scratch_task_accuracy"])
