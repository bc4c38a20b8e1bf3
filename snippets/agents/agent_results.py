"""The agent, measured: `rawweights bench agent` on held-out tasks (the committed result file
below; `python benchmarks/record.py agent --base CKPT` writes it, in a few minutes on 2 cores).

Run on its own: python snippets/agents/agent_results.py   (a second)
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt

from rwsite.claims import claim, value
from rwsite.tables import table

ROOT = Path(__file__).resolve().parents[2]
RESULT = "benchmarks/results/agent-cpu-2026-12-04.json"
r = json.loads((ROOT / RESULT).read_text())
pct = lambda x: f"{100 * x:.0f}%"

# --8<-- [start:table]
print(f"{r['device']}, {r['date']}, commit {r['commit']}; fine-tune {r['steps']} steps x "
      f"{r['batch']} transcripts; {r['n_tasks']} held-out tasks")
table(["measure", "value"], [
    ["3-digit arithmetic, model alone", pct(r["success_no_tools"])],
    ["3-digit arithmetic, with the calculator", pct(r["success_tools_arith"])],
    ["all three kinds of task with tools", pct(r["success_tools"])],
    ["plans that parse, free, greedy", pct(r["parse_rate_unconstrained"])],
    ["plans that parse, free, temperature 1", pct(r["parse_rate_unconstrained_t1"])],
    ["plans that parse, masked, temperature 1", pct(r["parse_rate_constrained_t1"])],
    ["success, 10% failures, no retry", pct(r["success_failures_10_no_retry"])],
    ["success, 10% failures, 3 retries", pct(r["success_failures_10_retry"])],
    ["success, 30% failures, no retry", pct(r["success_failures_30_no_retry"])],
    ["success, 30% failures, 3 retries", pct(r["success_failures_30_retry"])],
], align="lr")
# --8<-- [end:table]

for key in ("success_no_tools", "success_tools_arith", "success_tools", "parse_rate_unconstrained",
            "parse_rate_unconstrained_t1", "parse_rate_constrained", "parse_rate_constrained_t1",
            "success_failures_10_no_retry", "success_failures_10_retry",
            "success_failures_30_no_retry", "success_failures_30_retry"):
    value(key, pct(r[key]))
value("n_tasks", str(r["n_tasks"]))
value("finetune_steps", str(r["steps"]))
value("mean_retries_30", f"{r['mean_retries_30_retry']:.2f}")
value("latency_30", f"{r['tool_latency_ms_30_retry']:.0f}")
value("latency_30_no_retry", f"{r['tool_latency_ms_30_no_retry']:.0f}")
claim(r["success_no_tools"] < 0.2 and r["success_tools_arith"] >= 0.95,
      "the calculator lifts 3-digit arithmetic from below 20% to at least 95%", r={k: r[k] for k in
      ("success_no_tools", "success_tools_arith")})
claim(r["parse_rate_constrained"] == 1.0 and r["parse_rate_constrained_t1"] == 1.0,
      "every masked plan parses")
claim(r["success_failures_10_retry"] >= 0.9, "retries recover at least 90% of tasks at 10% failures")
claim(r["no_half_applied_state"], "no run left half-applied writes")

fig, ax = plt.subplots(figsize=(6.4, 3.4))
rates = ["0%", "10%", "30%"]
ax.bar([i - 0.2 for i in range(3)], [r["success_tools"], r["success_failures_10_no_retry"],
       r["success_failures_30_no_retry"]], 0.4, color="C1", label="no retry")
ax.bar([i + 0.2 for i in range(3)], [r["success_tools"], r["success_failures_10_retry"],
       r["success_failures_30_retry"]], 0.4, color="C0", label="3 retries, backoff")
ax.set_xticks(range(3), rates)
ax.set_xlabel("tool calls failing (injected)")
ax.set_ylabel("tasks solved")
ax.set_ylim(0, 1.05)
ax.legend(loc="lower left")
ax.set_title("Recovery: the same plans, failing tools")
fig.tight_layout()
plt.show()
