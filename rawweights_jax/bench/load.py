"""The load generator of `rawweights bench serve`: a seeded Poisson stream of streamed completion
requests sent with httpx's async client, each timed token piece by token piece, while the
server's /metrics is sampled as a time series; plus the same requests sent alone, one after
another, to check that a request's text does not depend on its neighbours.
"""

from __future__ import annotations

import asyncio
import json
import time

import numpy as np


def workload(n: int, rate: float, ctx: int, seed: int, text: str) -> list[dict]:
    """n requests: Poisson arrival times at `rate` per second, prompts and output lengths drawn."""
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1 / rate, n))
    out = []
    for t in arrivals:
        length = int(rng.integers(4, 25))
        start = int(rng.integers(0, len(text) - length))
        out.append({"at": float(t), "prompt": text[start:start + length],
                    "max_tokens": int(rng.integers(16, min(256, ctx - length) + 1))})
    return out


async def _one(client, url: str, model: str, req: dict, t0: float) -> dict:
    await asyncio.sleep(max(0.0, t0 + req["at"] - time.perf_counter()))
    sent = time.perf_counter()
    body = {"model": model, "prompt": req["prompt"], "max_tokens": req["max_tokens"],
            "temperature": 0, "stream": True}
    times, text, usage, status, done = [], [], None, None, False
    try:
        async with client.stream("POST", url + "/v1/completions", json=body) as r:
            status = r.status_code
            async for line in r.aiter_lines():
                done = done or line == "data: [DONE]"
                if not line.startswith("data: {"):
                    continue
                chunk = json.loads(line[6:])
                if chunk["choices"][0]["text"]:
                    times.append(time.perf_counter())
                    text.append(chunk["choices"][0]["text"])
                usage = chunk.get("usage") or usage
    except Exception as err:                      # counted as an error, the run goes on
        return {"error": f"{type(err).__name__}: {err}", **req}
    whole = done and usage is not None and usage["completion_tokens"] == req["max_tokens"]
    return {**req, "status": status, "sent": sent, "times": times, "text": "".join(text),
            "whole": whole,
            "error": None if status == 200 and whole else f"status {status}, complete {whole}"}


SAMPLED = ("rawweights_kv_bytes_reserved", "rawweights_kv_bytes_used", "rawweights_requests_running",
           "rawweights_requests_waiting", "rawweights_kv_pages_used", "rawweights_kv_pages_free",
           "rawweights_generated_tokens_total", "rawweights_decode_batch",
           "rawweights_requests_rejected_total", "rawweights_requests_total")


def scrape(text: str) -> dict:
    """The sampled series of a /metrics page (Prometheus text), summed over their labels except
    a request's outcome and a rejection's status (`rawweights_requests_total:length`, ...)."""
    from prometheus_client.parser import text_string_to_metric_families

    vals: dict = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in SAMPLED:
                tag = sample.labels.get("outcome") or sample.labels.get("status")
                key = f"{sample.name}:{tag}" if tag else sample.name
                vals[key] = vals.get(key, 0.0) + sample.value
    return vals


async def _sample_metrics(client, url: str, stop: asyncio.Event, out: list, every: float = 0.1) -> None:
    t0 = time.perf_counter()
    while not stop.is_set():
        try:
            vals = scrape((await client.get(url + "/metrics")).text)
            out.append({"t": round(time.perf_counter() - t0, 3), **vals})
        except Exception:
            pass
        await asyncio.sleep(every)


async def _run_async(url: str, model: str, reqs: list[dict], max_seconds: float,
               every: float = 0.1) -> tuple[list, list]:
    import httpx

    series: list = []
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=1024, max_keepalive_connections=64)
    async with httpx.AsyncClient(timeout=max_seconds, limits=limits) as client:
        sampler = asyncio.create_task(_sample_metrics(client, url, stop, series, every))
        t0 = time.perf_counter()
        tasks = [asyncio.create_task(_one(client, url, model, r, t0)) for r in reqs]
        done, pending = await asyncio.wait(tasks, timeout=max_seconds)
        for t in pending:
            t.cancel()
        stop.set()
        await sampler
    results = [t.result() for t in done] + [{"error": "over the time limit"} for _ in pending]
    return results, series


async def _alone_async(url: str, model: str, reqs: list[dict]) -> list[str]:
    import httpx

    async with httpx.AsyncClient(timeout=120) as client:
        out = []
        for r in reqs:
            resp = await client.post(url + "/v1/completions", json={
                "model": model, "prompt": r["prompt"], "max_tokens": r["max_tokens"], "temperature": 0})
            out.append(resp.json()["choices"][0]["text"])
        return out


def pct(xs, q):
    return round(float(np.percentile(xs, q)) * 1000, 2) if xs else None


def warm_up(url: str, name: str, ctx: int, text: str, max_seconds: float) -> None:
    """Compile what a run would otherwise compile mid-way: the prefill widths of the workload's
    prompts and every block-table width of a decode call (one answer as long as the context)."""
    warm = [{"at": 0.0, "prompt": text[:n], "max_tokens": 2} for n in (4, 8, 16, 24)]
    warm.append({"at": 0.5, "prompt": text[:4], "max_tokens": ctx - 4})
    run_load(url, name, warm, max_seconds)




def run_load(url: str, model: str, reqs: list[dict], max_seconds: float,
             every: float = 0.1) -> tuple[list, list]:
    """Send `reqs` at their arrival times; (one result per request, the /metrics samples)."""
    return asyncio.run(_run_async(url, model, reqs, max_seconds, every))


def alone(url: str, model: str, reqs: list[dict]) -> list[str]:
    """The text of each request sent alone, one after another (greedy, not streamed)."""
    return asyncio.run(_alone_async(url, model, reqs))
