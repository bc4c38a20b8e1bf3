"""The serving engine: one model, a fixed set of decode slots, a paged KV cache, and a scheduler
loop on its own thread.

Continuous (iteration-level) batching, as Orca introduced it: between two decode calls the
loop lets finished requests leave (their pages go back to the pool at once) and lets waiting
ones join (each is prefilled on its own, through a one-row view of the same page pools, then
decodes with the others). A decode call runs `decode_steps` steps (8) in one compiled loop,
as vLLM's multi-step scheduling does: the host's work between steps (tables, sampling
arguments, streaming) is paid once per call, not once per token, at the price of a request
joining up to that many steps later. A row that reaches its `max_tokens` inside the call idles
for the rest of it. Busy slots are packed first (`PageTables.move`: table rows change places,
pages stay), and a call runs a power-of-two number of rows (`batch_rows`) and reads the block
table up to a power-of-two width (`read_width`): a few shapes, all compiled when the model
loads (`warmup`), never per request; prefills are padded to a few widths (`pad_width`).

`python benchmarks/serve_engine.py` measures both choices in process (no HTTP).

What a request produces depends only on itself: its prompt is prefilled alone, every row of a
decode step is computed independently of the others, and its random draws come from its own
seed and token index (`sample_rows`). So a greedy request gives the same tokens in a full batch
as alone (tests/test_serve_engine.py; `rawweights bench serve` measures it under load).

Modes, for comparison (`rawweights bench serve`): `continuous`; `static` (a batch is formed
when enough requests wait, or the oldest has waited `batch_wait` seconds, and runs until its
longest member finishes: nobody joins mid-way); `none` (one request at a time: one slot).

Admission never overcommits the page pool: a request joins only when the free pages, less
those promised to running requests for their remaining tokens, cover its prompt and its
`max_tokens`. Pages are still taken one page at a time as a sequence grows, so memory held
tracks memory used.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np
from flax import nnx

from rawweights_jax.inference.generate import pad_width, params_dtype
from rawweights_jax.kvcache.paged import PageLayout, PagedKVCache, batch_rows, ceil_pages, read_width
from rawweights_jax.kvcache.pages import PageTables
from rawweights_jax.serve.device import decode_call, prefill_call
from rawweights_jax.serve.protocol import StopScanner

MODES = ("continuous", "static", "none")


@dataclass(eq=False)
class Request:
    """One completion on its way through the engine. The engine calls `emit(kind, payload)`
    from its own thread: ("text", str) for new text, ("done", finish_reason) once at the end,
    ("error", message) if the request failed."""

    prompt: list[int]
    max_tokens: int
    temperature: float
    top_p: float
    seed: int
    stop: tuple[str, ...]
    emit: object
    arrived: float = field(default_factory=time.perf_counter)
    cancelled: bool = False
    generated: list[int] = field(default_factory=list)
    first_token_at: float | None = None
    finished_at: float | None = None

    def cancel(self) -> None:
        """The client went away: the engine frees the slot before its next step."""
        self.cancelled = True


class QueueFull(Exception):
    pass


class EngineStopped(Exception):
    """The engine is stopping (its model was evicted, or the server is closing): ask the pool
    for the model again."""


class Engine:
    """Serve one model: `submit` requests from any thread; `start` runs the scheduler thread."""

    def __init__(self, model, tokenizer, *, mode: str = "continuous", slots: int = 8,
                 page_size: int = 16, pages: int | None = None, max_queue: int = 256,
                 batch_wait: float = 0.05, decode_steps: int = 8, warmup: bool = False,
                 metrics=None, name: str = "model"):
        if mode not in MODES:
            raise ValueError(f"mode={mode!r}: expected one of {', '.join(MODES)}")
        if not (isinstance(decode_steps, int) and decode_steps >= 1):
            raise ValueError(f"decode_steps={decode_steps!r}: expected an integer >= 1")
        self.decode_steps, self.warm_first = decode_steps, warmup
        self.cfg, self.tokenizer, self.mode, self.name = model.cfg, tokenizer, mode, name
        self.slots = 1 if mode == "none" else slots
        ctx = self.cfg.context_len
        max_pages = ceil_pages(ctx, page_size)
        pages = pages or self.slots * max_pages
        self.layout = PageLayout.for_model(self.cfg, self.slots, page_size, pages, ctx)
        self.graphdef, self.params = nnx.split(model, nnx.Param)
        self.tables = PageTables(self.cfg, self.layout, params_dtype(self.params))
        self.cache = self.tables.empty_cache(params_dtype(self.params))
        self.max_queue, self.batch_wait, self.metrics = max_queue, batch_wait, metrics
        self.vocab = tokenizer.vocab_size
        self.waiting: deque[Request] = deque()
        self.active: list[Request | None] = [None] * self.slots
        self.last_token = np.zeros(self.slots, np.int32)
        self.scanners: list[StopScanner | None] = [None] * self.slots
        self.lock = threading.Condition()
        self.stopping = False
        self.thread: threading.Thread | None = None
        self.steps = 0

    # ------------------------------------------------------------------ from other threads
    def submit(self, request: Request) -> None:
        """Queue a request (raises QueueFull when `max_queue` are already waiting)."""
        if len(request.prompt) + request.max_tokens > self.cfg.context_len:
            raise ValueError(f"prompt ({len(request.prompt)} tokens) + max_tokens "
                             f"({request.max_tokens}) exceed the context of {self.cfg.context_len}")
        with self.lock:
            if self.stopping:
                raise EngineStopped(f"the engine of {self.name} is stopping")
            if len(self.waiting) >= self.max_queue:
                raise QueueFull(f"{len(self.waiting)} requests are already waiting")
            self.waiting.append(request)
            self.lock.notify()
            if self.metrics:       # the page gauges are the engine thread's (its tables)
                self.metrics.waiting.labels(self.name).set(len(self.waiting))

    def busy(self) -> int:
        """Requests running or waiting."""
        return len(self.waiting) + sum(r is not None for r in self.active)

    def start(self) -> Engine:
        self.thread = threading.Thread(target=self._loop, name=f"engine-{self.name}", daemon=True)
        self.thread.start()
        return self

    def stop(self, drain: bool = True, timeout: float | None = None) -> None:
        """Stop the loop: after every running and waiting request has finished (drain), or now."""
        with self.lock:
            if not drain:
                for r in list(self.waiting) + [r for r in self.active if r]:
                    r.cancel()
            self.stopping = True
            self.lock.notify()
        if self.thread is not None:
            self.thread.join(timeout)

    def kv_stats(self) -> dict:
        return self.tables.stats()

    # ------------------------------------------------------------------ the scheduler thread
    def _loop(self) -> None:
        if self.warm_first:
            self.warmup()
        while True:
            with self.lock:
                while not self.waiting and not any(self.active) and not self.stopping:
                    self.lock.wait()
                if self.stopping and not self.waiting and not any(self.active):
                    return
            self._drop_cancelled()
            for request, slot in self._admissions():
                self._prefill(request, slot)
            if any(self.active):
                self._decode()
            elif self.waiting:                 # a static batch still forming
                time.sleep(0.002)
            self._gauges()                     # once per step, from the thread that owns the tables

    def _admissions(self) -> list[tuple[Request, int]]:
        """Waiting requests that join now, each with its slot, by the mode's rule."""
        free = [s for s, r in enumerate(self.active) if r is None]
        with self.lock:
            if not self.waiting or not free:
                return []
            if self.mode == "static":
                if any(self.active):
                    return []
                full = len(self.waiting) >= self.slots
                if not (full or self.stopping
                        or time.perf_counter() - self.waiting[0].arrived >= self.batch_wait):
                    return []
            budget = self.tables.pool.free - self._promised()
            joined = []
            while self.waiting and free:
                need = ceil_pages(len(self.waiting[0].prompt) + self.waiting[0].max_tokens,
                                  self.layout.page_size)
                if need > budget:
                    break
                budget -= need
                joined.append((self.waiting.popleft(), free.pop(0)))
        return joined

    def _promised(self) -> int:
        """Pages running requests may still take to reach their max_tokens."""
        size, total = self.layout.page_size, 0
        for slot, r in enumerate(self.active):
            if r is not None:
                final = ceil_pages(len(r.prompt) + r.max_tokens, size)
                total += max(0, final - ceil_pages(self.tables.length(slot), size))
        return total

    def _prefill(self, request: Request, slot: int) -> None:
        try:
            shared = self.tables.admit(slot, request.prompt)
            feed = request.prompt[shared:]
            width = pad_width(len(feed))
            tokens = np.zeros((1, width), np.int32)
            valid = np.zeros((1, width), bool)
            tokens[0, :len(feed)], valid[0, :len(feed)] = feed, True
            full = self.tables.sync(self.cache)
            row = PagedKVCache(full.k, full.v, full.block_table[slot:slot + 1],
                               full.ring_table[slot:slot + 1], full.length_B[slot:slot + 1])
            first, row = prefill_call(self.graphdef, self.params, row, jnp.asarray(tokens),
                               jnp.asarray(valid), jnp.asarray([len(feed) - 1], jnp.int32),
                               *self._sampling([request], [0]), vocab=self.vocab)
            self.cache = full._replace(k=row.k, v=row.v)
        except Exception as err:              # a failure in one request never breaks the others
            self.tables.release(slot)
            request.emit("error", f"{type(err).__name__}: {err}")
            return
        self.active[slot] = request
        self.scanners[slot] = StopScanner(request.stop)
        if self.metrics:
            self.metrics.prompt_tokens.labels(self.name).inc(len(feed))
        self._accept(slot, [int(first[0])])

    def _decode(self) -> None:
        """Up to `decode_steps` tokens for every running request in one device call; nobody
        joins or leaves inside it. A request takes no more steps than it has tokens left, and
        pages only for those; one that stops early on a stop string has its extra tokens
        dropped. Busy slots are packed first and the call runs only the first `rows` of them
        (a power of two): one request alone decodes at one row's cost, not the whole batch's."""
        self._pack()
        busy = sum(r is not None for r in self.active)
        rows = batch_rows(busy, self.slots)
        steps = np.zeros(rows, np.int32)
        for slot in range(busy):
            r = self.active[slot]
            steps[slot] = min(self.decode_steps, r.max_tokens - len(r.generated))
            self.tables.reserve(slot, int(steps[slot]))
        self.cache = self.tables.sync(self.cache)
        # Read only the pages the longest row reaches, rounded up to a power of two: a few
        # compiled widths, and a batch of short sequences does not gather the whole context.
        longest = max(self.tables.length(s) for s in range(busy))
        width = read_width(ceil_pages(longest, self.layout.page_size), self.layout.max_pages)
        requests = [self.active[s] or self.active[0] for s in range(rows)]
        out = self._call(rows, width, self.last_token[:rows], steps,
                         self._sampling(requests, [len(r.generated) for r in requests]))
        self.steps += int(steps.max())
        if self.metrics:
            self.metrics.batch.labels(self.name).set(busy)
        for slot in range(busy):
            self._accept(slot, out[slot, :steps[slot]].tolist())

    def _call(self, rows: int, width: int, tokens, steps, sampling) -> np.ndarray:
        """One compiled decode call on the first `rows` slots, reading `width` table columns.
        The cache comes back with those rows and columns only (and the rest donated): the next
        `tables.sync` puts the whole tables back."""
        c = self.cache
        view = c._replace(block_table=c.block_table[:rows, :width], ring_table=c.ring_table[:rows],
                          length_B=c.length_B[:rows])
        out, self.cache = decode_call(self.graphdef, self.params, view, jnp.asarray(tokens),
                                        jnp.asarray(steps), *sampling, vocab=self.vocab,
                                        n_steps=self.decode_steps)
        return np.asarray(out)

    def warmup(self) -> None:
        """Compile every decode shape now (each row count times each read width), so that no
        request waits for a compilation later. Every row idles: nothing is written."""
        widths = sorted({read_width(n, self.layout.max_pages) for n in range(1, self.layout.max_pages + 1)})
        for rows in sorted({batch_rows(n, self.slots) for n in range(1, self.slots + 1)}):
            zeros = np.zeros(rows, np.int32)
            sampling = (jnp.zeros((rows, 2), jnp.uint32), jnp.asarray(zeros),
                        jnp.zeros(rows, jnp.float32), jnp.ones(rows, jnp.float32))
            for width in widths:
                self.cache = self.tables.sync(self.cache)
                self._call(rows, width, zeros, zeros, sampling)

    def _pack(self) -> None:
        """Move busy slots into the lowest free ones, so the busy slots are 0..busy-1."""
        while True:
            free = [s for s, r in enumerate(self.active) if r is None]
            busy = [s for s, r in enumerate(self.active) if r is not None]
            if not free or not busy or free[0] > busy[-1]:
                return
            src, dst = busy[-1], free[0]
            self.tables.move(src, dst)
            self.active[dst], self.active[src] = self.active[src], None
            self.scanners[dst], self.scanners[src] = self.scanners[src], None
            self.last_token[dst] = self.last_token[src]

    def _sampling(self, requests, counters):
        seeds = np.array([[r.seed & 0xFFFFFFFF, r.seed >> 32] for r in requests], np.uint32)
        return (jnp.asarray(seeds), jnp.asarray(counters, jnp.int32),
                jnp.asarray([r.temperature for r in requests], jnp.float32),
                jnp.asarray([r.top_p for r in requests], jnp.float32))

    def _accept(self, slot: int, tokens: list[int]) -> None:
        """A slot's new tokens: stream their text as one piece, finish the request if it is
        done (the tokens after its end are dropped)."""
        request, scanner = self.active[slot], self.scanners[slot]
        if request.first_token_at is None:
            request.first_token_at = time.perf_counter()
        pieces, reason, taken = [], None, 0
        for token in tokens:
            taken += 1
            request.generated.append(token)
            self.last_token[slot] = token
            pieces.append(scanner.add(self.tokenizer.decode([token])))
            if scanner.stopped:
                reason = "stop"
            elif len(request.generated) >= request.max_tokens:
                pieces.append(scanner.flush())
                reason = "length"
            if reason:
                break
        if self.metrics:
            self.metrics.tokens.labels(self.name).inc(taken)
        text = "".join(pieces)
        if text:
            request.emit("text", text)
        if reason:
            self._finish(slot, reason)

    def _finish(self, slot: int, reason: str) -> None:
        request = self.active[slot]
        request.finished_at = time.perf_counter()
        self.active[slot] = self.scanners[slot] = None
        self.tables.release(slot)
        if self.metrics:
            self._observe(request, reason)
        request.emit("done", reason)

    def _drop_cancelled(self) -> None:
        for slot, r in enumerate(self.active):
            if r is not None and r.cancelled:
                self.active[slot] = self.scanners[slot] = None
                self.tables.release(slot)
                if self.metrics:
                    self.metrics.requests.labels(self.name, "cancelled").inc()
        with self.lock:
            kept = [r for r in self.waiting if not r.cancelled]
            self.waiting.clear()
            self.waiting.extend(kept)

    def _observe(self, request: Request, reason: str) -> None:
        m = self.metrics
        m.requests.labels(self.name, reason).inc()
        m.ttft.labels(self.name).observe(request.first_token_at - request.arrived)
        n = len(request.generated)
        if n > 1:
            m.tpot.labels(self.name).observe((request.finished_at - request.first_token_at) / (n - 1))

    def _gauges(self) -> None:
        if not self.metrics:
            return
        m, stats = self.metrics, self.tables.stats()
        m.running.labels(self.name).set(sum(r is not None for r in self.active))
        m.waiting.labels(self.name).set(len(self.waiting))
        m.pages_used.labels(self.name).set(stats["pages_used"])
        m.pages_free.labels(self.name).set(stats["pages_free"])
        m.kv_reserved.labels(self.name).set(stats["bytes_reserved"])
        m.kv_used.labels(self.name).set(stats["bytes_used"])
