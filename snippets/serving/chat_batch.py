"""Chat against batch: the same server's latency and cost at every offered load, from the
committed `rawweights bench serve` result, beside the decode step of a batch of 64 with no
server at all (the committed `rawweights bench roofline` result). Reads the files, draws them.

Run on its own: python snippets/serving/chat_batch.py   (a second)
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt

from rwsite.claims import claim, value

ROOT = Path(__file__).resolve().parents[2]
SERVE = json.loads((ROOT / "benchmarks/results/serve-cpu-2026-12-04.json").read_text())
ROOF = json.loads((ROOT / "benchmarks/results/roofline-cpu-2026-12-04.json").read_text())

# --8<-- [start:slo]
TTFT_P99_S = 1.0      # chat: 99 readers in 100 see their first character within a second
TPOT_P50_MS = 40.0    # and the text then comes faster than they read (25 characters/s)
CORES = 2             # what the machine costs is its cores' time: cost ~ cores / throughput


def chat_ok(run):
    return run["ttft_p99_ms"] / 1000 <= TTFT_P99_S and run["tpot_p50_ms"] <= TPOT_P50_MS


def core_ms_per_token(tokens_per_second):
    return 1000 * CORES / tokens_per_second
# --8<-- [end:slo]


modes = list(dict.fromkeys(run["mode"] for run in SERVE["runs"]))
print(f"{'mode':10} {'req/s':>5} {'tok/s':>6} {'TTFT p99':>9} {'TPOT p50':>9} "
      f"{'core-ms/token':>13}  chat?")
best = {}
for mode in modes:
    for run in (x for x in SERVE["runs"] if x["mode"] == mode):
        tps = run["throughput_tokens_per_second"]
        ok = chat_ok(run)
        print(f"{mode:10} {run['rate']:5.0f} {tps:6.0f} {run['ttft_p99_ms'] / 1000:8.2f}s "
              f"{run['tpot_p50_ms']:8.1f}ms {core_ms_per_token(tps):13.2f}  {'yes' if ok else 'no'}")
        if ok and tps > best.get(mode, {}).get("throughput_tokens_per_second", 0):
            best[mode] = run
decode64 = next(row for row in ROOF["rows"] if row["preset"] == SERVE["model"]
                and row["phase"] == "decode" and row["batch"] == 64)
offline = decode64["batch"] / decode64["seconds"]
print(f"\nno server, one decode step of 64 sequences ({decode64['tokens']} cached tokens each):\n"
      f"  {offline:.0f} tokens/s, {core_ms_per_token(offline):.2f} core-ms/token")

fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.4))
for i, mode in enumerate(modes):
    runs = [x for x in SERVE["runs"] if x["mode"] == mode]
    left.plot([x["throughput_tokens_per_second"] for x in runs], [x["ttft_p99_ms"] / 1000 for x in runs],
              "o-", color=f"C{i}", label=mode)
    for x in runs:
        left.annotate(f"{x['rate']:g}", (x["throughput_tokens_per_second"], x["ttft_p99_ms"] / 1000),
                      fontsize=6, xytext=(3, 2), textcoords="offset points")
left.axhline(TTFT_P99_S, color="0.5", ls=":", lw=1)
left.text(0.99, TTFT_P99_S * 0.8, "chat objective ", fontsize=7, color="0.4", ha="right", va="top",
          transform=left.get_yaxis_transform())
left.set_yscale("log")
left.set_xlabel("tokens per second served")
left.set_ylabel("p99 time to first token (s)")
left.set_title("Latency against throughput\n(labels: offered requests/s)", fontsize=9)
left.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, frameon=False)
bars = [(f"chat, {m}", best[m]["throughput_tokens_per_second"]) for m in modes if m in best]
bars += [("busiest run, " + m, max(x["throughput_tokens_per_second"] for x in SERVE["runs"] if x["mode"] == m))
         for m in modes]
bars.append(("batch job, b=64\n(no server)", offline))
right.barh([b[0] for b in bars], [core_ms_per_token(b[1]) for b in bars],
           color=["C2"] * sum(m in best for m in modes) + ["C0"] * len(modes) + ["C3"])
right.invert_yaxis()
right.tick_params(axis="y", labelsize=7)
right.set_xlabel("core-milliseconds per token (cost)")
right.set_title("What a token costs", fontsize=9)
fig.tight_layout()
plt.show()

cont = best.get("continuous")
value("slo_ttft", f"{TTFT_P99_S:g} s")
value("slo_tpot", f"{TPOT_P50_MS:g} ms")
value("chat_rate", f"{cont['rate']:g}" if cont else "none")
value("chat_tps", f"{cont['throughput_tokens_per_second']:.0f}" if cont else "0")
value("chat_cost", f"{core_ms_per_token(cont['throughput_tokens_per_second']):.2f}" if cont else "n/a")
busiest = max((x for x in SERVE["runs"] if x["mode"] == "continuous"),
              key=lambda x: x["throughput_tokens_per_second"])
value("busy_tps", f"{busiest['throughput_tokens_per_second']:.0f}")
value("busy_ttft", f"{busiest['ttft_p99_ms'] / 1000:.1f} s")
value("busy_cost", f"{core_ms_per_token(busiest['throughput_tokens_per_second']):.2f}")
value("offline_tps", f"{offline:.0f}")
value("offline_cost", f"{core_ms_per_token(offline):.2f}")
value("offline_over_chat", f"{offline / cont['throughput_tokens_per_second']:.1f}" if cont else "n/a")
value("chat_modes", ", ".join(m for m in modes if m in best) or "none")
claim(cont is not None, "continuous batching meets the chat objective at some measured load")
claim(offline > busiest["throughput_tokens_per_second"],
      "a batch job without a server makes tokens cheaper than the busiest server run")
