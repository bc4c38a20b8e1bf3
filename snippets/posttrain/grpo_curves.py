"""GRPO from the fine-tuned student, three seeds: the reward of its sampled answers, their KL to
the SFT model, and their length, step by step; then GRPO against more SFT at the same compute
(benchmarks/results/posttrain-grpo-cpu-*.json, made by `rawweights bench posttrain --parts grpo`).

Run on its own: python snippets/posttrain/grpo_curves.py   (a second)
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt

from rwsite.claims import claim, value
from rwsite.tables import table

ROOT = Path(__file__).resolve().parents[2]
RESULT = "benchmarks/results/posttrain-grpo-cpu-2026-12-04.json"

r = json.loads((ROOT / RESULT).read_text())
c = r["grpo_config"]
print(f"GRPO on '{r['grpo_task']}': {c['steps']} steps of {c['prompts']} prompts x {c['group']} "
      f"answers, lr {c['lr']}, beta {c['beta']}, seeds {r['grpo_seeds']}; measured by "
      f"`{r['command']}` on {r['device']}, {r['date']}, library commit {r['commit']}")

# --8<-- [start:curves]
fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
for i, (seed, curve) in enumerate(r["grpo_curves"].items()):
    steps = range(1, len(curve["reward"]) + 1)
    for ax, key in zip(axes, ("reward", "kl", "length")):
        ax.plot(steps, curve[key], color=f"C{i}", lw=1.2, label=f"seed {seed}")
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
value("initial_reward", f"{r['grpo_initial_reward']:.2f}")
value("final_reward", f"{r['grpo_final_reward']:.2f}")
value("final_reward_range", " to ".join(f"{x:.2f}" for x in (min(r["grpo_final_reward_by_seed"]),
                                                            max(r["grpo_final_reward_by_seed"]))))
value("kl", f"{r['grpo_kl']:.3f}")
value("initial_accuracy", f"{r['grpo_initial_accuracy']:.0%}")
value("grpo_accuracy", f"{r['grpo_accuracy']:.0%}")
value("sft_more_accuracy", f"{r['sft_more_accuracy']:.0%}")
value("sft_more_steps", str(r["sft_more_steps"][0]))
value("sft_more_batch", str(r["sft_more_batch"]))
value("token_passes", f"{r['grpo_token_passes'] / 1e6:.1f} million")
value("test_prompts", str(r["grpo_test_prompts"]))
value("minutes", f"{r['seconds_grpo'] / 60:.0f}")
claim(min(r["grpo_final_reward_by_seed"]) > r["grpo_initial_reward"] + 0.05,
      "every seed's final reward is clearly above the start",
      start=r["grpo_initial_reward"], final=r["grpo_final_reward_by_seed"])
