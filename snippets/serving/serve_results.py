"""Static, continuous and one-at-a-time batching under the same Poisson load, from the
committed `rawweights bench serve` result (`python benchmarks/record.py serve`, several
minutes: a real server per mode on loopback); this snippet only reads the file and draws it.

Run on its own: python snippets/serving/serve_results.py   (a second)
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt

from rwsite.claims import claim, value

ROOT = Path(__file__).resolve().parents[2]
RESULT = "benchmarks/results/serve-cpu-2026-12-04.json"

# --8<-- [start:table]
r = json.loads((ROOT / RESULT).read_text())
print(f"{r['device']}, {r['date']}, commit {r['commit']}")
print(f"{r['model']} ({r['params'] / 1e6:.1f}M parameters, context {r['context']}), "
      f"{r['max_batch']} decode slots, {r['requests_per_run']} requests per run\n")
print(f"{'mode':10} {'req/s':>5} {'tok/s':>7} {'TTFT p50':>9} {'p99':>7} {'TPOT p50':>9} {'p99':>6}"
      f" {'errors':>6} {'same alone':>10}")
for run in r["runs"]:
    print(f"{run['mode']:10} {run['rate']:5.0f} {run['throughput_tokens_per_second']:7.0f} "
          f"{run['ttft_p50_ms']:8.0f}ms {run['ttft_p99_ms']:6.0f}ms {run['tpot_p50_ms']:8.1f}ms "
          f"{run['tpot_p99_ms']:5.0f}ms {run['errors']:6d} {run['batch_invariant_fraction']:10.2f}")
# --8<-- [end:table]

modes = list(dict.fromkeys(run["mode"] for run in r["runs"]))
fig, (left, right) = plt.subplots(1, 2, figsize=(7.6, 3.3))
for i, mode in enumerate(modes):
    runs = [run for run in r["runs"] if run["mode"] == mode]
    rates = [run["rate"] for run in runs]
    left.plot(rates, [run["throughput_tokens_per_second"] for run in runs], "o-", color=f"C{i}", label=mode)
    right.plot(rates, [run["ttft_p99_ms"] / 1000 for run in runs], "o-", color=f"C{i}", label=mode)
left.set_ylim(bottom=0)
right.set_ylim(bottom=0)
left.set_xlabel("offered load (requests per second)")
left.set_ylabel("tokens per second served")
left.set_title("Three batching modes: throughput")
right.set_xlabel("offered load (requests per second)")
right.set_ylabel("p99 time to first token (s)")
right.set_title("Slowest first tokens (p99)")
left.legend(fontsize=8, loc="lower right")
plt.show()

top = max(run["rate"] for run in r["runs"])
at = {run["mode"]: run for run in r["runs"] if run["rate"] == top}
cont, stat, none = at["continuous"], at["static"], at["none"]
value("top_rate", f"{top:.0f}")
value("cont_tps", f"{cont['throughput_tokens_per_second']:.0f}")
value("cont_over_static", f"{cont['throughput_tokens_per_second'] / stat['throughput_tokens_per_second']:.2f}")
value("cont_over_none", f"{cont['throughput_tokens_per_second'] / none['throughput_tokens_per_second']:.2f}")
value("cont_ttft_p99", f"{cont['ttft_p99_ms'] / 1000:.2f} s")
value("static_ttft_p99", f"{stat['ttft_p99_ms'] / 1000:.2f} s")
value("none_ttft_p99", f"{none['ttft_p99_ms'] / 1000:.1f} s")
value("cont_tpot", f"{cont['tpot_p50_ms']:.0f} ms")
value("step_ratio", f"{cont['tpot_p50_ms'] / none['tpot_p50_ms']:.1f}")
value("per_run", f"{r['requests_per_run']}")
# the highest rate at which each mode kept its slowest first tokens within a second
for mode in ("none", "static", "continuous"):
    kept = [run["rate"] for run in r["runs"] if run["mode"] == mode and run["ttft_p99_ms"] <= 1000]
    value(f"{mode}_keeps_up", f"{max(kept):g}" if kept else "none of the rates")
lone = r["stream_vs_generate"]
value("lone_tokens", f"{lone['tokens']}")
value("lone_ratio", f"{lone['ratio_median']:.2f}")
value("lone_rounds", f"{len(lone['stream_tokens_per_second'])}")
value("lone_range", "{:.2f}-{:.2f}".format(*lone["ratio_range"]))
claim(lone["same_text"], "the streamed text equals generate()'s")
claim(cont["tpot_p50_ms"] > none["tpot_p50_ms"], "a step of eight rows costs more than one of one")
value("none_tpot", f"{none['tpot_p50_ms']:.1f} ms")
value("kv_ratio", f"{cont['kv_reserved_over_used']:.2f}")
value("contiguous_ratio", f"{cont['contiguous_kv_bytes_reserved'] / cont['kv_bytes_used']:.1f}")
claim(all(run["errors"] == 0 for run in r["runs"]), "no request failed in any run")
claim(all(run["batch_invariant_fraction"] == 1.0 for run in r["runs"]),
      "every sampled greedy request gave the same text as alone")
claim(cont["throughput_tokens_per_second"] > stat["throughput_tokens_per_second"] > 0,
      "continuous batching serves more tokens per second than static at the highest load")
claim(cont["ttft_p99_ms"] < stat["ttft_p99_ms"], "and makes the slowest first tokens come sooner")
