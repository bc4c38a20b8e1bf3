"""DPO at four betas and SimPO, measured: what each bought (held-out preference accuracy,
greedy task accuracy) and what it cost (KL to the SFT model), from the committed result file.

The runs (six of them after the SFT run, minutes of a 2-core CPU) are more than a page may
spend on a cold build, so `python benchmarks/record.py posttrain --parts dpo` made the file
below, stamped with device, date, command and commit; tests/test_lib_posttrain_dpo.py re-runs
the bench's cheapest point.

Run on its own: python snippets/posttrain/pref_results.py   (a second)
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt

from rwsite.claims import claim, value
from rwsite.tables import table

RESULT = "benchmarks/results/posttrain-dpo-cpu-2026-12-04.json"
r = json.loads((Path(__file__).resolve().parents[2] / RESULT).read_text())
runs = r["dpo_runs"]
recipe, pairs = r["dpo_recipe"], r["dpo_pairs"]
print(f"measured by `{r['command']}` on {r['device']}, {r['date']}, library commit {r['commit']}; "
      f"{pairs['train']} training and {pairs['heldout']} held-out pairs of "
      f"{', '.join(pairs['kinds'])}; {recipe['steps']} steps of {recipe['batch']} pairs, AdamW at "
      f"{recipe['lr']:g}")

pct = lambda x: "-" if x is None else f"{x:.0%}"
names = [n for n in runs if n != "dpo_hard"]
label = lambda n: (f"DPO beta {runs[n]['beta']:g}" if runs[n]["loss"] == "dpo"
                   else f"SimPO beta {runs[n]['beta']:g}, gamma {runs[n]['gamma']:g}")
kinds = pairs["kinds"]
rows = [[label(n), pct(runs[n]["preference_accuracy"]),
         *[pct(runs[n]["preference_accuracy_per_task"][k]) for k in kinds],
         f"{runs[n]['reward_margin']:+.2f}", f"{runs[n]['kl']:.2f}", pct(runs[n]["greedy_accuracy"])]
        for n in names]
rows.append(["SFT model (the reference)", "-", *["-"] * len(kinds), "-", "0",
             pct(r["dpo_reference_greedy_accuracy"])])
table(["run", "held-out preference accuracy", *kinds, "mean margin", "KL to SFT (nats/answer)",
       "greedy task accuracy"], rows, align="l" + "r" * (len(kinds) + 4))

fig, (ax_curve, ax_trade) = plt.subplots(1, 2, figsize=(7.2, 3.2))
for i, n in enumerate(names):
    curve = runs[n]["curve"]
    if runs[n]["loss"] == "dpo":   # at step 0 the policy is the reference: every DPO margin is 0, a tie
        curve = [c for c in curve if c["step"] > 0]
    ax_curve.plot([c["step"] for c in curve], [c["accuracy"] for c in curve], color=f"C{i}",
                  label=label(n).replace(", gamma", "\ngamma"))
    ax_trade.scatter(runs[n]["kl"], runs[n]["preference_accuracy"], color=f"C{i}")
    ax_trade.annotate(label(n).split(",")[0].replace("DPO ", ""),
                      (runs[n]["kl"], runs[n]["preference_accuracy"]), fontsize=9,
                      xytext=(4, -10), textcoords="offset points")
ax_curve.set_xlabel("step")
ax_curve.set_ylabel("held-out preference accuracy")
ax_curve.set_title("Accuracy over training")
ax_curve.set_ylim(0.5, 1.0)
ax_curve.legend(fontsize=9)
ax_trade.set_xlabel("KL to the SFT model (nats per answer)")
ax_trade.set_title("What beta trades")
fig.tight_layout()
plt.show()

head, simpo, hard = runs[f"dpo_{r['dpo_beta']:g}"], runs["simpo"], runs["dpo_hard"]
by_beta = r["dpo_by_beta"]
value("dpo_accuracy", pct(r["dpo_preference_accuracy"]))
value("dpo_kl", f"{r['dpo_kl']:.2f}")
value("dpo_margin", f"{r['dpo_reward_margin']:+.2f}")
value("dpo_greedy", pct(r["dpo_greedy_accuracy"]))
value("ref_greedy", pct(r["dpo_reference_greedy_accuracy"]))
value("ref_likelihood", pct(r["dpo_reference_likelihood_accuracy"]))
value("dpo_likelihood", pct(r["dpo_likelihood_accuracy"]))
value("simpo_accuracy", pct(r["simpo_preference_accuracy"]))
value("simpo_kl", f"{r['simpo_kl']:.2f}")
value("simpo_greedy", pct(r["simpo_greedy_accuracy"]))
value("steps", str(recipe["steps"]))
value("kl_prompts", str(recipe["kl_prompts"]))
value("kl_samples", str(recipe["kl_samples"]))
value("train_pairs", f"{pairs['train']:,}")
value("heldout_pairs", f"{pairs['heldout']:,}")
for b, row in by_beta.items():
    value(f"acc_{b.replace('.', '')}", pct(row["preference_accuracy"]))
    value(f"kl_{b.replace('.', '')}", f"{row['kl']:.2f}")
for k, acc in hard["preference_accuracy_per_task"].items():
    value(f"hard_{k}", pct(acc))
kls = [by_beta[b]["kl"] for b in sorted(by_beta, key=float)]
best = max(by_beta, key=lambda b: by_beta[b]["preference_accuracy"])
value("best_beta", best)
value("best_accuracy", pct(by_beta[best]["preference_accuracy"]))
claim(by_beta[best]["preference_accuracy"] >= 0.85, "the best beta ranks >= 85% of held-out pairs right",
      best=best, accuracy=by_beta[best]["preference_accuracy"])
claim(r["dpo_preference_accuracy"] < 0.85, "the headline beta stays under 85%",
      accuracy=r["dpo_preference_accuracy"])
claim(all(a > b for a, b in zip(kls, kls[1:])), "the KL falls as beta grows", kl_by_beta=kls)
claim(by_beta["1"]["preference_accuracy"] > by_beta["0.03"]["preference_accuracy"],
      "the largest beta ranks more pairs right than the smallest")
claim(all(row["greedy_accuracy"] < r["dpo_reference_greedy_accuracy"] for row in by_beta.values()),
      "every DPO run answers fewer held-out prompts right than the SFT model")
claim(r["dpo_likelihood_accuracy"] > r["dpo_reference_likelihood_accuracy"],
      "DPO raises the likelihood accuracy")
claim(max(hard["preference_accuracy_per_task"].values()) < r["dpo_preference_accuracy"],
      "the hard kinds stay below the learnable ones", hard=hard["preference_accuracy_per_task"])
