"""The paged cache's memory over time against two contiguous schemes, then what each scheme
fits into a fixed budget, then what the real server measured. The real PageTables replay the
same seeded stream of requests as paged_fragmentation.py (8 slots, 16-token pages); under a
budget of four whole contexts a heavier stream is served by whole-context slots, by
first-fit regions of prompt + max_tokens in one contiguous arena, and by pages with the
engine's admission rule. Last, the KV bytes of the committed `rawweights bench serve` result.

Run on its own: python snippets/serving/paged_timeline.py   (a few seconds)
"""

import json
from collections import deque
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _paged_replay import CTX, STEPS, TOKEN_BYTES, ratio, replay, requests

from rwsite.claims import claim, value
from rwsite.tables import table

ROOT = Path(__file__).resolve().parents[2]
RESULT = "benchmarks/results/serve-cpu-2026-12-04.json"

samples = replay(requests(200, seed=0), 16)
t = [s["t"] for s in samples]
mb = lambda key: [s[key] / 1e6 for s in samples]
fig, ax = plt.subplots(figsize=(7, 3.4))
ax.plot(t, mb("contiguous"), color="C1", lw=1.2, label=f"whole-context slots ({CTX} tokens)")
ax.plot(t, mb("upfront"), color="C2", lw=1.2, label="prompt + max_tokens up front")
ax.plot(t, mb("reserved"), color="C0", lw=1.2, label="paged, 16-token pages")
ax.fill_between(t, mb("used"), color="C0", alpha=0.25, lw=0, label="holding tokens")
ax.set_xlabel("decode steps")
ax.set_ylabel("KV cache reserved (MB)")
ax.set_title("The same requests, three ways to reserve their keys and values")
ax.set_ylim(0, 1.4 * max(mb("contiguous")))          # room above the lines for the legend
ax.legend(fontsize=8, loc="upper center", ncol=2)
plt.show()
peak = {key: max(s[key] for s in samples) for key in ("contiguous", "upfront", "reserved", "used")}
print("peak MB reserved:", ", ".join(f"{k} {v / 1e6:.1f}" for k, v in peak.items()))


# --8<-- [start:first_fit]
def first_fit(reqs, budget, slots, steps=STEPS):
    """Regions of prompt + max_tokens tokens in one contiguous arena of `budget` tokens, each
    at the first hole that holds it. Returns the requests running at each decode call, and the
    calls at which the next request waited although the free tokens added up to enough."""
    waiting, running, t, busy, stranded = deque(reqs), [], 0.0, [], 0
    while waiting or running:
        if not running:
            t = max(t, waiting[0]["at"])
        while waiting and waiting[0]["at"] <= t and len(running) < slots:
            need = len(waiting[0]["prompt"]) + waiting[0]["max_tokens"]
            start, end = None, 0                      # walk the holes between regions
            for region in sorted(running) + [[budget, 0, 0]]:
                if region[0] - end >= need:
                    start = end
                    break
                end = region[0] + region[1]
            if start is None:
                stranded += budget - sum(r[1] for r in running) >= need
                break
            running.append([start, need, waiting.popleft()["max_tokens"] - 1])
        for r in running:
            r[2] -= min(steps, r[2])
        t += steps
        busy.append(len(running))
        running = [r for r in running if r[2]]
    return busy, stranded
# --8<-- [end:first_fit]


BUDGET = 4 * CTX                                     # tokens of KV memory: four whole contexts
heavy = requests(200, seed=1, rate=0.3)              # more requests than any scheme can hold
whole = [s["busy"] for s in replay(heavy, 16, slots=BUDGET // CTX)]
arena, stranded = first_fit(heavy, BUDGET, slots=32)
pages = [s["busy"] for s in replay(heavy, 16, slots=32, pages=BUDGET // 16)]
rows = [[name, f"{np.mean(b):.2f}", f"{len(b)}"] for name, b in
        (("whole-context slots", whole), ("first-fit regions, prompt + max_tokens", arena),
         ("16-token pages, the engine's rule", pages))]
print(f"\na budget of {BUDGET} tokens ({BUDGET * TOKEN_BYTES / 1e6:.1f} MB), {len(heavy)} requests waiting:")
table(["cache", "requests running (mean)", "decode calls to serve all"], rows, "lrr")
print(f"first fit: the next request waited at {stranded} of {len(arena)} calls with enough "
      "free tokens in total, none of them in one hole")

# --8<-- [start:bench]
r = json.loads((ROOT / RESULT).read_text())
cont = [run for run in r["runs"] if run["mode"] == "continuous"]
print(f"\n{r['device']}, {r['date']}, commit {r['commit']}: rawweights bench serve, continuous batching")
for run in cont:
    print(f"{run['rate']:5.0f} req/s: reserved {run['kv_bytes_reserved'] / 1e6:5.1f} MB, "
          f"used {run['kv_bytes_used'] / 1e6:5.1f} MB ({run['kv_reserved_over_used']:.3f}x); "
          f"whole-context slots {run['contiguous_kv_bytes_reserved'] / run['kv_bytes_used']:.2f}x")
# --8<-- [end:bench]

ratios = [run["kv_reserved_over_used"] for run in cont]
top = max(cont, key=lambda run: run["rate"])
value("timeline_paged", f"{ratio(samples):.2f}")
value("peak_whole", f"{peak['contiguous'] / 1e6:.1f} MB")
value("peak_paged", f"{peak['reserved'] / 1e6:.1f} MB")
value("peak_used", f"{peak['used'] / 1e6:.1f} MB")
value("budget_tokens", f"{BUDGET}")
value("budget_mb", f"{BUDGET * TOKEN_BYTES / 1e6:.1f} MB")
value("run_whole", f"{np.mean(whole):.1f}")
value("run_arena", f"{np.mean(arena):.1f}")
value("run_pages", f"{np.mean(pages):.1f}")
value("calls_whole", f"{len(whole)}")
value("calls_pages", f"{len(pages)}")
value("stranded", f"{stranded}")
value("arena_calls", f"{len(arena)}")
value("bench_date", r["date"])
value("bench_device", r["device"])
value("bench_ratio_range", f"{min(ratios):.2f}-{max(ratios):.2f}")
value("bench_top_rate", f"{top['rate']:.0f}")
value("bench_top_ratio", f"{top['kv_reserved_over_used']:.2f}")
value("bench_top_whole", f"{top['contiguous_kv_bytes_reserved'] / top['kv_bytes_used']:.1f}")
claim(all(s["upfront"] <= s["contiguous"] for s in samples)
      and ratio(samples) < ratio(samples, "upfront") < ratio(samples, "contiguous"),
      "up-front regions never hold more than whole-context slots, and pages hold the least on average")
claim(peak["reserved"] < peak["upfront"] < peak["contiguous"], "and the least at the peak")
claim(np.mean(whole) < np.mean(arena) <= np.mean(pages), "in the same budget pages run the most requests at once")
claim(len(pages) < len(whole), "and serve the stream in fewer decode calls than whole-context slots")
claim(max(ratios) <= 1.3, "the real server's pages held at most 1.3x the bytes of its tokens", ratios=ratios)
claim(all(run["contiguous_kv_bytes_reserved"] > 2 * run["kv_bytes_used"] for run in cont),
      "whole-context slots would have held over twice the bytes used in every run")
claim(stranded > 0, "first fit turned the next request away while enough tokens were free in total")
claim(abs(top["kv_reserved_over_used"] - ratio(samples)) < 0.05, "the replay's ratio is close to the server's")
