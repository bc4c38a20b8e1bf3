"""The trainer against nanoGPT's own train.py: interleaved rounds of the same model and recipe
on the same machine (benchmarks/train_vs_nanogpt.py wrote the file read here).

Run on its own: python snippets/training/nanogpt_race.py   (a second)
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt

from rwsite.claims import claim, value
from rwsite.tables import table

RESULT = "benchmarks/results/train-vs-nanogpt-cpu-2026-12-04.json"
r = json.loads((Path(__file__).resolve().parents[2] / RESULT).read_text())
print(f"{r['rounds']} rounds of {r['iters']} iterations each; measured by `{r['command']}` on "
      f"{r['device']}, {r['date']}, library commit {r['commit']}, nanoGPT commit {r['nanogpt_commit'][:7]}")
rows = [[i + 1, x["nanogpt"]["ms_per_iter"], x["rawweights_jax"]["ms_per_iter"], f"{x['speedup']:.2f}x",
         x["nanogpt"]["val_loss"], x["rawweights_jax"]["val_loss"]] for i, x in enumerate(r["per_round"])]
table(["round", "nanoGPT ms/iter", "rawweights_jax ms/iter", "speed-up", "nanoGPT val loss",
       "rawweights_jax val loss"], rows, align="rrrrrr")

fig, ax = plt.subplots(figsize=(6.4, 2.8))
rounds = range(1, r["rounds"] + 1)
for side, label, color in (("nanogpt", "nanoGPT (PyTorch, eager)", "C1"), ("rawweights_jax", "rawweights_jax (XLA)", "C0")):
    ax.plot(rounds, [x[side]["ms_per_iter"] for x in r["per_round"]], "o-", color=color, label=label)
ax.set_xticks(list(rounds))
ax.set_xlabel("round (the two runs of a round are back to back)")
ax.set_ylabel("ms per iteration (median)")
ax.set_ylim(0, None)
ax.legend(loc="lower left")
fig.tight_layout()
plt.show()

value("race_rounds", f"{r['rounds']}")
value("race_nanogpt_ms", f"{r['nanogpt_ms_per_iter_median']:.1f}")
value("race_ours_ms", f"{r['rawweights_jax_ms_per_iter_median']:.1f}")
value("race_speedup", f"{r['speedup_median']:.2f}")
value("race_speedup_low", f"{r['speedup_range'][0]:.2f}")
value("race_speedup_high", f"{r['speedup_range'][1]:.2f}")
ours_val = [x["rawweights_jax"]["val_loss"] for x in r["per_round"]]
nano_val = r["per_round"][0]["nanogpt"]["val_loss"]       # nanoGPT's seed is fixed: the same each round
value("race_val_ours", ", ".join(f"{v:.3f}" for v in ours_val))
value("race_val_nanogpt", f"{nano_val:.3f}")
value("race_val_gap_max", f"{max(ours_val) - nano_val:.3f}")
value("race_mfu", f"{min(x['rawweights_jax']['mfu'] for x in r['per_round']):.2f}-"
                  f"{max(x['rawweights_jax']['mfu'] for x in r['per_round']):.2f}")
claim(r["speedup_range"][0] >= 1.25, "every round at least 1.25x nanoGPT's speed", range=r["speedup_range"])
claim(all(x["nanogpt"]["val_loss"] == nano_val for x in r["per_round"]), "nanoGPT's runs are identical")
claim(max(ours_val) - nano_val < 0.03, "our losses within 0.03 of nanoGPT's", ours=ours_val, nanogpt=nano_val)
