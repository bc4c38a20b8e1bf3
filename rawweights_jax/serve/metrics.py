"""What `rawweights serve` exposes on GET /metrics, in the Prometheus text format.

One registry per server (not the process-wide default), so two servers in one process (the
tests) keep separate counts. Names follow Prometheus conventions: a `_total` counter, `_seconds`
histograms, gauges for what is true now. Latencies are per request, per model:

- time to first token: from the request's arrival to its first generated token (waiting in the
  queue and the prefill included: what a chat user waits before text appears);
- time per output token: the mean gap between a request's later tokens (what decides how fast
  the text then flows).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
TOKEN_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self):
        r = self.registry = CollectorRegistry()
        m = ("model",)
        self.running = Gauge("rawweights_requests_running", "Requests holding a decode slot", m, registry=r)
        self.waiting = Gauge("rawweights_requests_waiting", "Requests queued for a decode slot", m, registry=r)
        self.requests = Counter("rawweights_requests", "Finished requests by outcome",
                                m + ("outcome",), registry=r)
        self.rejected = Counter("rawweights_requests_rejected", "Requests answered with an error "
                                "before they ran, by HTTP status (429: queue full)", ("status",),
                                registry=r)
        self.tokens = Counter("rawweights_generated_tokens", "Tokens generated", m, registry=r)
        self.prompt_tokens = Counter("rawweights_prompt_tokens", "Prompt tokens prefilled", m, registry=r)
        self.ttft = Histogram("rawweights_time_to_first_token_seconds",
                              "Arrival to first generated token", m, buckets=LATENCY_BUCKETS, registry=r)
        self.tpot = Histogram("rawweights_time_per_output_token_seconds",
                              "Mean time between a request's later tokens", m, buckets=TOKEN_BUCKETS,
                              registry=r)
        self.pages_used = Gauge("rawweights_kv_pages_used", "KV cache pages holding tokens", m, registry=r)
        self.pages_free = Gauge("rawweights_kv_pages_free", "KV cache pages free", m, registry=r)
        self.kv_reserved = Gauge("rawweights_kv_bytes_reserved", "KV bytes in pages held by sequences",
                                 m, registry=r)
        self.kv_used = Gauge("rawweights_kv_bytes_used", "KV bytes holding a token", m, registry=r)
        self.batch = Gauge("rawweights_decode_batch", "Sequences in the latest decode step", m, registry=r)
        self.loads = Counter("rawweights_model_loads", "Models loaded into memory", m, registry=r)
        self.evictions = Counter("rawweights_model_evictions", "Models evicted to fit the budget", m,
                                 registry=r)
        self.memory = Gauge("rawweights_model_memory_bytes", "Weights plus KV pool of a loaded model", m,
                            registry=r)

    def text(self) -> bytes:
        return generate_latest(self.registry)
