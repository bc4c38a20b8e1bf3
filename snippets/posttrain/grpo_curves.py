"""GRPO from the fine-tuned student, three seeds: the reward of its sampled answers, their KL to
the SFT model, and their length, step by step; then GRPO against more SFT at the same compute
(benchmarks/results/posttrain-grpo-cpu-*.json, made by `rawweights bench posttrain --parts grpo`).

Run on its own: python snippets/posttrain/grpo_curves.py   (a second)
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from rwsite.claims import claim, value
from rwsite.tables import table

ROOT = Path(__file__).resolve().parents[2]
RESULT = "benchmarks/results/posttrain-grpo-cpu-2026-12-04.json"
COUNT = "benchmarks/results/posttrain-grpo-count-cpu-2026-12-04.json"   # the earlier run on `count`

r = json.loads((ROOT / RESULT).read_text())
c = r["grpo_config"]
print(f"GRPO on '{r['grpo_task']}': {c['steps']} steps of {c['prompts']} prompts x {c['group']} "
      f"answers, lr {c['lr']}, beta {c['beta']}, seeds {r['grpo_seeds']}; measured by "
      f"`{r['command']}` on {r['device']}, {r['date']}, library commit {r['commit']}")

W = 20   # a step grades only a few prompts, so its mean reward is noisy: compare 20-step windows

# --8<-- [start:curves]
fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
for i, (seed, curve) in enumerate(r["grpo_curves"].items()):
    steps = np.arange(1, len(curve["reward"]) + 1)
    for ax, key in zip(axes, ("reward", "kl", "length")):
        ax.plot(steps, curve[key], color=f"C{i}", lw=0.6, alpha=0.35)
        smooth = np.convolve(curve[key], np.ones(W) / W, mode="valid")   # trailing W-step mean
        ax.plot(steps[W - 1:], smooth, color=f"C{i}", lw=1.8, label=f"seed {seed}")
for ax, title, ylabel in zip(axes, ("Mean reward", "KL to the SFT model", "Answer length"),
                             ("share of answers right", "nats per token (k3)", "tokens, end marker incl.")):
    ax.set_title(title)
    ax.set_xlabel("GRPO step")
    ax.set_ylabel(ylabel)
axes[0].legend(fontsize=9)
fig.tight_layout()
plt.show()
# --8<-- [end:curves]

# --8<-- [start:table]
table(["model", "held-out accuracy (greedy)", "per seed"],
      [["SFT student (start)", f"{r['grpo_initial_accuracy']:.1%}", ""],
       ["+ GRPO", f"{r['grpo_accuracy']:.1%}", ", ".join(f"{a:.1%}" for a in r["grpo_accuracy_by_seed"])],
       [f"+ {r['sft_more_steps'][0]} more SFT steps (same compute)", f"{r['sft_more_accuracy']:.1%}",
        ", ".join(f"{a:.1%}" for a in r["sft_more_accuracy_by_seed"])]], align="lrr")
# --8<-- [end:table]

value("task", r["grpo_task"])
value("steps", str(c["steps"]))
value("group", str(c["group"]))
value("prompts", str(c["prompts"]))
value("beta", str(c["beta"]))
value("lr", f"{c['lr']:g}")
first = [float(np.mean(c["reward"][:W])) for c in r["grpo_curves"].values()]
last = [float(np.mean(c["reward"][-W:])) for c in r["grpo_curves"].values()]
last_kl = [float(np.mean(c["kl"][-W:])) for c in r["grpo_curves"].values()]
value("window", str(W))
value("initial_reward", f"{np.mean(first):.2f}")
value("final_reward", f"{np.mean(last):.2f}")
value("final_reward_range", f"{min(last):.2f} to {max(last):.2f}")
value("kl", f"{np.mean(last_kl):.2f}")
value("initial_accuracy", f"{r['grpo_initial_accuracy']:.0%}")
value("grpo_accuracy", f"{r['grpo_accuracy']:.0%}")
value("sft_more_accuracy", f"{r['sft_more_accuracy']:.0%}")
value("sft_more_steps", str(r["sft_more_steps"][0]))
value("sft_more_batch", str(r["sft_more_batch"]))
value("token_passes", f"{r['grpo_token_passes'] / 1e6:.1f} million")
value("test_prompts", str(r["grpo_test_prompts"]))
value("minutes", f"{r['seconds_grpo'] / 60:.0f}")
value("final_length", f"{np.mean([np.mean(c['length'][-W:]) for c in r['grpo_curves'].values()]):.1f}")
claim(min(last) > max(first), "every seed ends above where every seed started", first=first, last=last)
claim(min(r["grpo_accuracy_by_seed"]) > r["grpo_initial_accuracy"],
      "GRPO raised greedy held-out accuracy for every seed", grpo=r["grpo_accuracy_by_seed"])
claim(min(r["sft_more_accuracy_by_seed"]) > max(r["grpo_accuracy_by_seed"]),
      "more SFT at the same compute beat GRPO for every seed",
      sft=r["sft_more_accuracy_by_seed"], grpo=r["grpo_accuracy_by_seed"])

# The earlier run on `count`: the same loop, on a task whose answers are mostly "1".
k = json.loads((ROOT / COUNT).read_text())
value("count_initial_reward", f"{np.mean([np.mean(c['reward'][:W]) for c in k['grpo_curves'].values()]):.2f}")
value("count_final_reward", f"{np.mean([np.mean(c['reward'][-W:]) for c in k['grpo_curves'].values()]):.2f}")
value("count_accuracy", f"{k['grpo_initial_accuracy']:.1%}")
claim(k["grpo_accuracy_by_seed"] == [k["grpo_initial_accuracy"]] * len(k["grpo_seeds"]),
      "on count, greedy held-out accuracy did not move", grpo=k["grpo_accuracy_by_seed"])
