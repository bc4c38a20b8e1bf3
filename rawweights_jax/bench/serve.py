"""`rawweights bench serve`: a real server under a real load, on loopback.

For each batching mode the benchmark starts `rawweights serve` on a free 127.0.0.1 port, warms
it up (every prefill width compiled), then replays a seeded Poisson stream of requests at each
rate: prompts of 4-24 characters cut from the validation text, output lengths drawn from 16 to
256 (capped by the context), all greedy, streamed over HTTP by an async client. Per mode and
rate it reports throughput, time to first token and time per output token (p50, p99), the KV
bytes the pages held against the bytes holding tokens (sampled from /metrics while the load
runs, beside what max-length contiguous slots would have held), errors, and the fraction of a
sample of requests whose text equals the same request sent alone afterwards.

The model: the `shakespeare-char` preset (10.7M parameters, 256-token context), trained for a
short run (300 steps) into `out/bench-serve` the first time (speed does not depend on how well it writes).
Each run is bounded by its request count and by `max_seconds`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from rawweights_jax.bench.common import environment, print_table
from rawweights_jax.bench.load import alone, pct, run_load, warm_up, workload
from rawweights_jax.serve.launch import launch, stop

MODES = ("continuous", "static", "none")
MODEL_DIR = Path("out/bench-serve/shakespeare-char")


def bench_model(quiet: bool) -> Path:
    """The served checkpoint: the shakespeare-char preset after 300 steps of 12 sequences (once,
    about ten minutes on 2 cores; enough to write words, and speed does not depend on it)."""
    from rawweights_jax.ckpt.checkpoint import LATEST
    from rawweights_jax.config import preset
    from rawweights_jax.data.shakespeare import load_shakespeare
    from rawweights_jax.train.loop import train

    if not (MODEL_DIR / LATEST).is_file():
        run = preset("shakespeare-char").replace(max_iters=300, warmup_iters=30, eval_interval=300,
                                                 batch_size=12, dropout=0.0, eval_iters=5)
        if not quiet:
            print(f"training {MODEL_DIR} (300 steps, once)", file=sys.stderr)
        train(run, load_shakespeare(), out_dir=MODEL_DIR, progress=None)
    return MODEL_DIR


def summarize(mode: str, rate: float, results: list, kv: list, ctx: int, token_bytes: float,
              same: list[bool]) -> dict:
    ok = [r for r in results if not r.get("error")]
    ttft = [r["times"][0] - r["sent"] for r in ok if r["times"]]
    # text arrives in pieces of up to --decode-steps tokens: time per token, not per piece
    tpot = [(r["times"][-1] - r["times"][0]) / (r["max_tokens"] - 1) for r in ok
            if len(r["times"]) > 1 and r["max_tokens"] > 1]
    span = (max(r["times"][-1] for r in ok) - min(r["sent"] for r in ok)) if ok else 0
    tokens = sum(r["max_tokens"] for r in ok)
    kv = [k for k in kv if k.get("rawweights_kv_bytes_used")]       # while tokens were held
    reserved = float(np.mean([k["rawweights_kv_bytes_reserved"] for k in kv])) if kv else 0.0
    used = float(np.mean([k["rawweights_kv_bytes_used"] for k in kv])) if kv else 0.0
    running = float(np.mean([k.get("rawweights_requests_running", 0) for k in kv])) if kv else 0.0
    return {"mode": mode, "rate": rate, "requests": len(results), "completed": len(ok),
            "throughput_tokens_per_second": round(tokens / span, 1) if span else 0.0,
            "ttft_p50_ms": pct(ttft, 50), "ttft_p99_ms": pct(ttft, 99),
            "tpot_p50_ms": pct(tpot, 50), "tpot_p99_ms": pct(tpot, 99),
            "kv_bytes_reserved": round(reserved), "kv_bytes_used": round(used),
            "kv_reserved_over_used": round(reserved / used, 3) if used else None,
            "contiguous_kv_bytes_reserved": round(running * ctx * token_bytes),
            "errors": len(results) - len(ok),
            "batch_invariant_fraction": round(sum(same) / len(same), 4) if same else None}


def bench_serve(rates=(1.0, 2.0, 4.0, 8.0, 16.0), modes=MODES, requests: int = 48,
                max_batch: int = 8, max_seconds: float = 120.0, invariance_sample: int = 8,
                soak_seconds: float = 120.0, stream_rounds: int = 3, seed: int = 0,
                ckpt: Path | None = None, text: str | None = None, quiet: bool = False) -> dict:
    """Every mode's server runs at once (idle ones cost nothing); the runs are interleaved, every
    mode at a rate before the next rate, so a drift of the machine's speed hits all modes alike.
    Then one streamed request against in-process `generate`, and a soak (serve_soak.py)."""
    from rawweights_jax.bench.serve_soak import soak, stream_vs_generate
    from rawweights_jax.ckpt.checkpoint import load_model
    from rawweights_jax.data.shakespeare import load_shakespeare
    from rawweights_jax.kvcache.paged import page_bytes
    from rawweights_jax.model.gpt import count_params

    ckpt = ckpt or bench_model(quiet)
    model, tokenizer, _, _ = load_model(ckpt)
    ctx, name = model.cfg.context_len, (ckpt.parent if ckpt.suffix else ckpt).resolve().name
    token_bytes = page_bytes(model.cfg, 1)[False]
    if text is None:                      # prompts from the validation split
        data = load_shakespeare()
        text = data.tokenizer.decode(data.val_Z.tolist())
    text = "".join(c for c in text if c in tokenizer.index)
    say = (lambda *a: None) if quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    runs, servers, extra = [], {}, {}
    try:
        for mode in modes:
            say(f"starting a {mode} server and compiling its shapes")
            servers[mode] = launch([ckpt], "--batching", mode, "--max-batch", str(max_batch),
                                   "--max-queue", "1024")
            warm_up(servers[mode][1], name, ctx, text, max_seconds)
        for i, rate in enumerate(rates):
            reqs = workload(requests, rate, ctx, seed + i, text)
            for mode in modes:
                url = servers[mode][1]
                results, kv = run_load(url, name, reqs, max_seconds)
                ok = [r for r in results if not r.get("error")][:invariance_sample]
                solo = alone(url, name, ok)
                same = [r["text"] == a for r, a in zip(ok, solo)]
                runs.append(summarize(mode, rate, results, kv, ctx, token_bytes, same))
                r = runs[-1]
                say(f"  {mode:<10} {rate:5.1f} req/s: {r['throughput_tokens_per_second']:8.1f} tok/s  "
                    f"ttft p50 {r['ttft_p50_ms']} p99 {r['ttft_p99_ms']} ms  tpot p50 "
                    f"{r['tpot_p50_ms']} ms  errors {r['errors']}  invariant {r['batch_invariant_fraction']}")
        if stream_rounds:
            url = servers["continuous" if "continuous" in servers else modes[0]][1]
            extra["stream_vs_generate"] = stream_vs_generate(url, name, model, tokenizer, text,
                                                             min(200, ctx - 24), stream_rounds, say)
    finally:
        for proc, _ in servers.values():
            stop(proc)
    if soak_seconds and "continuous" in modes:
        best = max(r["throughput_tokens_per_second"] for r in runs if r["mode"] == "continuous")
        mean_tokens = float(np.mean([q["max_tokens"] for q in workload(4096, 1.0, ctx, seed, text)]))
        extra["soak"] = soak(ckpt, name, tokenizer, ctx, text, 2 * best / mean_tokens, best / mean_tokens,
                             soak_seconds, max_batch, seed, say)
    result = {"benchmark": "serve", "model": name, "params": count_params(model),
              "context": ctx, "max_batch": max_batch, "requests_per_run": requests,
              "rates": list(rates), "runs": runs, **extra, **environment()}
    if not quiet:
        print_table({k: v for k, v in result.items() if k not in ("runs", "soak", "stream_vs_generate")})
    return result
