"""Two parts of `rawweights bench serve` beyond the rate sweep.

`stream_vs_generate`: one request streamed over HTTP against the same request run by
`generate()` in this process (what `rawweights generate` runs), in interleaved rounds; the
ratio of their tokens per second is what the server's HTTP, scheduling and streaming cost a
lone reader.

`soak`: a fresh continuous-batching server under a Poisson load at twice its measured
saturation rate for a fixed time, with a bounded queue (`SOAK_QUEUE`), so the excess is refused
with 429 as designed. It counts every outcome (completed and whole, refused, server errors,
broken streams), checks that every completed stream holds exactly the tokens it was due,
re-sends a sample of completed requests alone to check their text, and keeps the server's
/metrics sampled twice a second: the time series a monitoring system would have scraped.
"""

from __future__ import annotations

import json
import time

import numpy as np

from rawweights_jax.bench.load import alone, pct, run_load, warm_up, workload
from rawweights_jax.serve.launch import launch, stop

SOAK_QUEUE = 64          # requests waiting before 429, in the soak
MAX_POINTS = 600         # samples of the metrics series kept in the result


def stream_vs_generate(url: str, name: str, model, tokenizer, text: str, n: int, rounds: int,
                       say) -> dict:
    import httpx

    from rawweights_jax.inference.generate import generate

    prompt = text[:16]

    def in_process() -> tuple[float, str]:
        start = time.perf_counter()
        out = np.asarray(generate(model, [tokenizer.encode(prompt)], n, temperature=0.0))[0]
        return n / (time.perf_counter() - start), tokenizer.decode(out.tolist())

    def streamed() -> tuple[float, str]:
        body = {"model": name, "prompt": prompt, "max_tokens": n, "temperature": 0, "stream": True}
        pieces, start = [], time.perf_counter()
        with httpx.stream("POST", url + "/v1/completions", json=body, timeout=120) as r:
            for line in r.iter_lines():
                if line.startswith("data: {"):
                    pieces.append(json.loads(line[6:])["choices"][0]["text"])
        return n / (time.perf_counter() - start), "".join(pieces)

    in_process(), streamed()                                   # compile both
    gen, http, same = [], [], []
    for i in range(rounds):
        (g, g_text), (h, h_text) = in_process(), streamed()
        gen.append(round(g, 1))
        http.append(round(h, 1))
        same.append(g_text == h_text)
        say(f"  one request, {n} tokens: generate() {g:.0f} tok/s, streamed over HTTP {h:.0f} tok/s")
    ratios = [h / g for g, h in zip(gen, http)]
    return {"tokens": n, "generate_tokens_per_second": gen, "stream_tokens_per_second": http,
            "ratio_median": round(float(np.median(ratios)), 3),
            "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)], "same_text": all(same)}


def histogram(text: str, metric: str) -> list[list[float]]:
    """[upper bound, cumulative count] of a Prometheus histogram, summed over its labels."""
    from prometheus_client.parser import text_string_to_metric_families

    counts: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == metric + "_bucket":
                le = float(s.labels["le"])
                counts[le] = counts.get(le, 0.0) + s.value
    return [[le, counts[le]] for le in sorted(counts)]


def soak(ckpt, name: str, tokenizer, ctx: int, text: str, rate: float, saturation: float,
         seconds: float, max_batch: int, seed: int, say) -> dict:
    import httpx


    say(f"soak: {seconds:.0f} s at {rate:.1f} requests/s (twice the measured saturation of "
        f"{saturation:.1f}), queue {SOAK_QUEUE}")
    proc, url = launch([ckpt], "--batching", "continuous", "--max-batch", str(max_batch),
                       "--max-queue", str(SOAK_QUEUE))
    try:
        warm_up(url, name, ctx, text, 120)
        reqs = [r for r in workload(int(rate * seconds * 1.2) + 1, rate, ctx, seed + 100, text)
                if r["at"] < seconds]
        t0 = time.perf_counter()
        results, series = run_load(url, name, reqs, seconds + 180, every=0.5)
        elapsed = time.perf_counter() - t0
        status = [r.get("status") for r in results]
        done = [r for r in results if r.get("status") == 200 and r.get("whole")]
        exact = [r for r in done if len(tokenizer.encode(r["text"])) == r["max_tokens"]]
        sample = exact[:: max(1, len(exact) // 16)][:16]
        solo = alone(url, name, sample)
        final = httpx.get(url + "/metrics", timeout=30).text
    finally:
        code = stop(proc)
    ttft = [r["times"][0] - r["sent"] for r in done if r["times"]]
    step = max(1, len(series) // MAX_POINTS)
    result = {
        "seconds": seconds, "rate": round(rate, 2), "saturation_rate": round(saturation, 2),
        "max_queue": SOAK_QUEUE, "sent": len(reqs), "completed": len(done),
        "completed_exact_tokens": len(exact),
        "rejected_429": status.count(429),
        "server_errors_5xx": sum(1 for s in status if s is not None and s >= 500),
        "broken_streams": sum(1 for r in results if r.get("status") == 200 and not r.get("whole")),
        "client_errors": sum(1 for s in status if s is None),
        "throughput_tokens_per_second": round(sum(r["max_tokens"] for r in done) / elapsed, 1),
        "ttft_p50_ms": pct(ttft, 50), "ttft_p99_ms": pct(ttft, 99),
        "batch_invariant_fraction": round(float(np.mean([r["text"] == a for r, a in zip(sample, solo)])), 4)
        if sample else None,
        "server_exit_status": code,
        "ttft_histogram": histogram(final, "rawweights_time_to_first_token_seconds"),
        "tpot_histogram": histogram(final, "rawweights_time_per_output_token_seconds"),
        "series": series[::step]}
    say(f"  soak: {result['sent']} sent, {result['completed']} completed whole, "
        f"{result['rejected_429']} refused (429), {result['server_errors_5xx']} 5xx, "
        f"{result['broken_streams']} broken streams; invariant {result['batch_invariant_fraction']}")
    return result
