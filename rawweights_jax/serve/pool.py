"""Several models in one memory budget: each loads on its first request, and the least recently
used idle one is evicted when the weights and KV page pool of the next would not fit.

A model's footprint is what the engine holds for it: its weights and its whole page pool (the
pool is allocated up front, so its size, not its use, is what counts). A model that does not fit
the budget even alone is refused with a clear error; one that would fit once busy models finish
gets a "retry" error instead of waiting unboundedly. A reloaded model is read from the same
checkpoint and gives the same outputs (tests/test_serve_http.py).
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import jax

from rawweights_jax.ckpt.checkpoint import load_model
from rawweights_jax.serve.engine import Engine
from rawweights_jax.serve.protocol import RequestError

SIZE_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20,
              "mib": 2**20, "g": 2**30, "gb": 2**30, "gib": 2**30}


def parse_size(text: str) -> int:
    """'512MiB', '2G', '1500000' -> bytes (binary units); ValueError names the text."""
    t = text.strip().lower()
    digits = t.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = t[len(digits):].strip()
    try:
        value = float(digits)
    except ValueError:
        value = -1
    if value <= 0 or unit not in SIZE_UNITS:
        raise ValueError(f"size {text!r}: expected a positive number with an optional unit "
                         "(K, M, G, KiB, MiB, GiB)")
    return int(value * SIZE_UNITS[unit])


def model_name(ckpt: Path) -> str:
    """A served model's name: its checkpoint folder's name (the file's folder for a file)."""
    ckpt = Path(ckpt)
    return (ckpt.parent if ckpt.suffix == ".safetensors" else ckpt).resolve().name


# --8<-- [start:engine_bytes]
def engine_bytes(engine: Engine) -> int:
    """What one model holds: its weights and its whole KV page pool (allocated up front)."""
    leaves = jax.tree.leaves(engine.params) + jax.tree.leaves((engine.cache.k, engine.cache.v))
    return int(sum(x.nbytes for x in leaves))
# --8<-- [end:engine_bytes]


class ModelPool:
    """Name -> checkpoint; engines loaded on demand within `budget` bytes (None: no limit)."""

    def __init__(self, ckpts: list[Path], budget: int | None = None, metrics=None, **engine_kw):
        self.paths: dict[str, Path] = {}
        for ckpt in ckpts:
            name = model_name(ckpt)
            if name in self.paths:
                raise ValueError(f"two checkpoints are both named {name!r}: {self.paths[name]} and {ckpt}")
            self.paths[name] = Path(ckpt)
        self.budget, self.metrics, self.engine_kw = budget, metrics, engine_kw
        self.engines: dict[str, Engine] = {}
        self.used: dict[str, float] = {}
        self.lock = threading.Lock()       # loads and evictions, one at a time

    def names(self) -> list[str]:
        return sorted(self.paths)

    async def get(self, name: str) -> Engine:
        if name not in self.paths:
            raise RequestError(f"model {name!r} is not served here; served: {', '.join(self.names())}",
                               "model", 404, "not_found_error")
        self.used[name] = time.monotonic()
        if name in self.engines:
            return self.engines[name]
        return await asyncio.to_thread(self._load, name)

    def _load(self, name: str) -> Engine:
        with self.lock:
            if name in self.engines:
                return self.engines[name]
            model, tokenizer, _, _ = load_model(self.paths[name])
            engine = Engine(model, tokenizer, metrics=self.metrics, name=name, **self.engine_kw)
            # --8<-- [start:evict]
            need = engine_bytes(engine)
            if self.budget is not None:
                if need > self.budget:
                    raise RequestError(f"model {name!r} needs {need:,} bytes (weights and KV page "
                                       f"pool), more than the memory budget of {self.budget:,}", "model")
                victims, held = [], self._footprint()
                for victim in sorted(self.engines, key=lambda n: self.used.get(n, 0)):
                    if held + need <= self.budget:
                        break
                    if not self.engines[victim].busy():
                        victims.append(victim)
                        held -= engine_bytes(self.engines[victim])
                if held + need > self.budget:      # evict nobody for a load that cannot happen
                    raise RequestError(f"model {name!r} needs {need:,} bytes and the other models "
                                       "holding the budget are busy: retry shortly", "model", 503,
                                       "server_error")
                for victim in victims:
                    self._evict(victim)
            # --8<-- [end:evict]
            self.engines[name] = engine.start()
            if self.metrics:
                self.metrics.loads.labels(name).inc()
                self.metrics.memory.labels(name).set(need)
            return engine

    def _footprint(self) -> int:
        return sum(engine_bytes(e) for e in self.engines.values())

    def _evict(self, name: str) -> None:
        engine = self.engines.pop(name)
        engine.stop(drain=True)
        if self.metrics:
            self.metrics.evictions.labels(name).inc()
            self.metrics.memory.labels(name).set(0)

    def close(self, drain: bool = True) -> None:
        for name in list(self.engines):
            self.engines.pop(name).stop(drain=drain)
