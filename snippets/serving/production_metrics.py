"""What a monitoring system would have scraped from /metrics during the soak of `rawweights bench
serve` (two minutes at twice the server's saturation rate, queue bounded): the committed result
keeps the server's own series, sampled twice a second, and its final histograms. This snippet
only reads the file and draws it.

Run on its own: python snippets/serving/production_metrics.py   (a second)
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from rwsite.claims import claim, value

ROOT = Path(__file__).resolve().parents[2]
RESULT = "benchmarks/results/serve-cpu-2026-12-04.json"

r = json.loads((ROOT / RESULT).read_text())
soak = r["soak"]
series = soak["series"]
t = np.array([p["t"] for p in series])


def gauge(name):
    return np.array([p.get(name, 0.0) for p in series])


WINDOW = 10    # samples: 5 seconds, like rate(counter[5s])


def per_second(name):
    """A counter's increase per second over a window of samples: what PromQL's rate() estimates."""
    v = gauge(name)
    return (v[WINDOW:] - v[:-WINDOW]) / (t[WINDOW:] - t[:-WINDOW])


# --8<-- [start:quantile]
def histogram_quantile(q, buckets):
    """The q-quantile of a Prometheus histogram ([upper bound, cumulative count] pairs), as
    PromQL's histogram_quantile() estimates it: find the bucket holding rank q x count and
    interpolate linearly inside it. Only the bucket bounds are known, never the values."""
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for upper, count in buckets:
        if count >= rank:
            if upper == float("inf"):          # past the last finite bound: report that bound
                return lower
            return lower + (upper - lower) * (rank - below) / max(count - below, 1e-12)
        lower, below = upper, count
    return lower


ttft = soak["ttft_histogram"]
print(f"time to first token, {ttft[-1][1]:.0f} requests, as the server's histogram has it:")
for q in (0.5, 0.9, 0.99):
    print(f"  p{round(q * 100)}: {histogram_quantile(q, ttft):6.2f} s")
print(f"as the load generator measured it: p50 {soak['ttft_p50_ms'] / 1000:.2f} s, "
      f"p99 {soak['ttft_p99_ms'] / 1000:.2f} s")
# --8<-- [end:quantile]

fig, (queue, rates) = plt.subplots(1, 2, figsize=(8, 3))
queue.plot(t, gauge("rawweights_requests_running"), color="C0", label="running (decode slots)")
queue.plot(t, gauge("rawweights_requests_waiting"), color="C1", label="waiting (queue)")
queue.axhline(soak["max_queue"], color="C1", ls=":", lw=1)
queue.set_title("Requests running and waiting")
queue.set_xlabel("seconds")
queue.legend(fontsize=8, loc="center right")
mid = (t[WINDOW:] + t[:-WINDOW]) / 2
rates.plot(mid, per_second("rawweights_generated_tokens_total"), color="C2", lw=0.8)
rates.set_ylim(bottom=0)
rates.set_title("Tokens served per second")
rates.set_xlabel("seconds")
fig.tight_layout()
plt.show()

fig, (refusals, pages, hist) = plt.subplots(1, 3, figsize=(8, 3))
refusals.plot(mid, per_second("rawweights_requests_rejected_total:429"), color="C3", lw=0.8)
refusals.set_title("Refused (429) per second")
refusals.set_xlabel("seconds")
used, free = gauge("rawweights_kv_pages_used"), gauge("rawweights_kv_pages_free")
pages.stackplot(t, used, free, labels=["used", "free"], colors=["C4", "0.85"])
pages.set_title("KV cache pages")
pages.set_xlabel("seconds")
pages.legend(fontsize=8, loc="lower right")
bounds = [le for le, _ in ttft[:-1]]
counts = np.diff([0.0] + [c for _, c in ttft[:-1]])
hist.bar(range(len(bounds)), counts, color="C0")
hist.set_xticks(range(len(bounds)), [f"≤{b:g}" for b in bounds], rotation=70, fontsize=8)
hist.set_title("First token (s): buckets")
hist.set_ylabel("requests")
fig.tight_layout()
plt.show()

total = ttft[-1][1]
value("soak_seconds", f"{soak['seconds']:.0f}")
value("soak_rate", f"{soak['rate']:.1f}")
value("soak_saturation", f"{soak['saturation_rate']:.1f}")
value("soak_sent", f"{soak['sent']:,}")
value("soak_completed", f"{soak['completed']:,}")
value("soak_refused", f"{soak['rejected_429']:,}")
value("soak_queue", f"{soak['max_queue']}")
value("soak_5xx", f"{soak['server_errors_5xx']}")
value("soak_broken", f"{soak['broken_streams']}")
value("soak_tps", f"{soak['throughput_tokens_per_second']:.0f}")
value("soak_invariant", f"{soak['batch_invariant_fraction']:.2f}")
value("hist_p99", f"{histogram_quantile(0.99, ttft):.1f} s")
value("client_p99", f"{soak['ttft_p99_ms'] / 1000:.1f} s")
value("slots", f"{r['max_batch']}")
busy = gauge("rawweights_requests_running")[len(t) // 4: 3 * len(t) // 4]
value("busy_fraction", f"{np.mean(busy == r['max_batch']):.0%}")
claim(soak["server_errors_5xx"] == 0 and soak["broken_streams"] == 0 and soak["client_errors"] == 0,
      "no 5xx, no broken stream, no failed connection under twice the saturation load")
claim(soak["completed_exact_tokens"] == soak["completed"],
      "every completed stream held exactly the tokens it was due")
claim(soak["batch_invariant_fraction"] == 1.0, "sampled greedy requests gave their text alone")
claim(soak["rejected_429"] > 0, "the excess load was refused with 429")
claim(gauge("rawweights_requests_waiting").max() <= soak["max_queue"], "the queue stayed bounded")
claim(total >= soak["completed"], "the server's histogram counted every completed request "
      "(and the warm-up and re-sent ones)", histogram=total, completed=soak["completed"])
