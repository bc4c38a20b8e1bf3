"""Speculative decoding measured: speed-up, acceptance and tokens per target pass against k,
from the committed `rawweights bench speculative` result (`python benchmarks/record.py
speculative`: trains a 10.7M-parameter target and a 0.8M draft, then times them in interleaved
rounds; about 15 minutes on 2 cores). This snippet only reads the file and draws it.

Run on its own: python snippets/inference/speculative_results.py   (a second)
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from rwsite.claims import claim, value

ROOT = Path(__file__).resolve().parents[2]
RESULT = "benchmarks/results/speculative-cpu-2026-12-04.json"

# --8<-- [start:table]
r = json.loads((ROOT / RESULT).read_text())
print(f"{r['device']}, {r['date']}, commit {r['commit']}")
print(f"target {r['target_params'] / 1e6:.1f}M parameters alone: {r['baseline_tokens_per_second']:.0f} tok/s; "
      f"draft {r['draft_params'] / 1e6:.2f}M alone: {r['draft_tokens_per_second']:.0f} tok/s\n")
print(f"{'k':>2} {'tok/s':>7} {'speed-up':>8} {'accepted':>8} {'tokens/pass':>11}  identical to the target")
for row in r["runs"]:
    print(f"{row['k']:2d} {row['tokens_per_second']:7.0f} {row['speedup']:8.2f} "
          f"{row['acceptance_rate']:8.2f} {row['tokens_per_target_pass']:11.2f}  {row['greedy_identical']}")
# --8<-- [end:table]

# --8<-- [start:model]
def expected_tokens_per_pass(alpha, k):
    """Leviathan et al.: each draft token survives with probability alpha, independently."""
    return (1 - alpha ** (k + 1)) / (1 - alpha)


cost = r["baseline_tokens_per_second"] / r["draft_tokens_per_second"]   # draft step / target step
ks = np.array([row["k"] for row in r["runs"]])
alpha = float(np.mean([row["acceptance_rate"] for row in r["runs"]]))
predicted = expected_tokens_per_pass(alpha, ks) / (ks * cost + 1)
# --8<-- [end:model]

fig, (left, right) = plt.subplots(1, 2, figsize=(7.6, 3.3))
left.plot(ks, [row["tokens_per_target_pass"] for row in r["runs"]], "o-", label="measured")
left.plot(ks, expected_tokens_per_pass(alpha, ks), "--", color="0.4", label=f"model, alpha = {alpha:.2f}")
left.set_xlabel("k, tokens drafted per round")
left.set_ylabel("tokens per target pass")
left.set_title("What a target pass yields")
left.legend(fontsize=8)
right.plot(ks, [row["speedup"] for row in r["runs"]], "o-", label="measured")
right.plot(ks, predicted, "--", color="0.4", label=f"model, draft cost {cost:.2f}")
right.axhline(1, color="0.6", linewidth=1, linestyle=":")
right.set_xlabel("k, tokens drafted per round")
right.set_ylabel("speed-up over the target alone")
right.set_title("What it buys")
right.legend(fontsize=8)
fig.suptitle("Speculative decoding, greedy, batch 1")
plt.show()

best = max(r["runs"], key=lambda row: row["speedup"])
last = r["runs"][-1]
# What a round costs, taken apart: its time, less k + 1 draft steps, is the target's pass over
# k + 1 tokens (and the round's bookkeeping), in units of one ordinary target decode step.
verify = {}
for row in r["runs"]:
    round_s = row["tokens_per_target_pass"] / row["tokens_per_second"]
    draft_s = (row["k"] + 1) / r["draft_tokens_per_second"]
    verify[row["k"]] = (round_s - draft_s) * r["baseline_tokens_per_second"]
print("\na round's target pass and bookkeeping, in ordinary decode steps: "
      + ", ".join(f"k={k}: {v:.2f}" for k, v in verify.items()))
value("target_params", f"{r['target_params'] / 1e6:.1f}M")
value("draft_params", f"{r['draft_params'] / 1e6:.2f}M")
value("size_ratio", f"{r['target_params'] / r['draft_params']:.0f}")
value("draft_cost", f"{cost:.2f}")
value("alpha", f"{alpha:.2f}")
value("best_k", str(best["k"]))
value("best_speedup", f"{best['speedup']:.2f}")
value("best_tokens_per_pass", f"{best['tokens_per_target_pass']:.2f}")
value("last_k", str(last["k"]))
value("last_speedup", f"{last['speedup']:.2f}")
value("sampled_acceptance", f"{r['sampled_t0.8_acceptance_rate']:.2f}")
value("rounds", str(r["rounds"]))
value("verify_k1", f"{verify[r['runs'][0]['k']]:.2f}")
value("verify_best", f"{verify[best['k']]:.2f}")
value("model_best", f"{float(predicted[list(ks).index(best['k'])]):.2f}")
claim(min(verify.values()) > 1.3, "a round's target pass costs well over one ordinary decode step",
      cheapest=round(min(verify.values()), 2))
claim(r["greedy_identical"], "every greedy speculative run gave the target's own tokens")
claim(r["target_params"] >= 8 * r["draft_params"], "the target has at least 8x the draft's parameters")
claim(best["speedup"] > 1.0, "the best k beats the target alone", speedup=best["speedup"])
