"""`rawweights bench roofline`: this machine's two ceilings, and where each phase of each preset
sits under them.

In one run: the float32 matrix-product peak (FLOP/s), the memory bandwidth (a streaming read
of an array far larger than the caches), then for each preset a prefill of `tokens` tokens and
one decode step at that cache length, at batch 1, 8 and 64, timed. Each row has the phase's
arithmetic intensity (FLOPs per byte, from analysis/roofline.py) and the FLOP/s it achieved;
the roofline min(peak, intensity x bandwidth) says what it could at most. A row's `tokens` is
the prompt's length for a prefill, the mean cache length over the timed steps for a decode. The models are freshly
initialised: speed does not depend on what the weights are.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from rawweights_jax.analysis.roofline import (attainable_flops, critical_batch, phase_cost,
                                              ridge_point)
from rawweights_jax.bench.common import environment, matmul_peak_gflops, print_table, timeit
from rawweights_jax.config import preset
from rawweights_jax.kvcache.cache import KVCache
from rawweights_jax.model.gpt import count_params, init_model
from rawweights_jax.parallel.mesh import device_mesh
from rawweights_jax.parallel.sharding import shard_weights

PRESETS = ("shakespeare-char-cpu", "shakespeare-char", "gpt2-small")
BATCHES = (1, 8, 64)


def memory_bandwidth_gbs(mib: int = 512) -> float:
    """Measured read bandwidth of the whole machine: every device sums its share of a `mib`-MiB
    float32 array at once (a sum does one add per 4 bytes read, far below any peak, so only
    the memory can hold it back; the array is 16x or more the size of a server CPU's caches)."""
    devices = jax.local_devices()
    n = mib * 2**20 // 4 // len(devices) * len(devices)
    x = jnp.ones((len(devices), n // len(devices)), jnp.float32)
    mesh = device_mesh(devices=devices)
    if mesh is not None:
        x = jax.device_put(x, NamedSharding(mesh, P(mesh.axis_names[0])))
    f = jax.jit(lambda a: a.sum(axis=1))
    return n * 4 / timeit(lambda: f(x), 3, 1.0) / 1e9


@functools.partial(jax.jit, static_argnames=("graphdef", "slots"))
def _prefill(graphdef, params, tokens_BT, *, slots: int):
    model = nnx.merge(graphdef, params)
    cache = KVCache.empty(model.cfg, tokens_BT.shape[0], slots, jnp.float32)
    return model.step(tokens_BT, cache)


@functools.partial(jax.jit, static_argnames=("graphdef", "steps"))
def _decode(graphdef, params, tokens_B1, cache, *, steps: int):
    """`steps` decode steps in one compiled loop (a call per step would time the dispatch)."""
    model = nnx.merge(graphdef, params)

    def one(_, carry):
        tokens_B1, cache = carry
        logits_B1V, cache = model.step(tokens_B1, cache)
        return jnp.argmax(logits_B1V, axis=-1).astype(jnp.int32), cache

    return jax.lax.fori_loop(0, steps, one, (tokens_B1, cache))


DECODE_STEPS = 16


def phase_seconds(preset_name: str, batch: int, tokens: int, mesh: Mesh | None) -> dict:
    """Measured seconds of a `tokens`-token prefill and of one decode step after it (the mean
    of DECODE_STEPS steps, so the cache holds `tokens` + DECODE_STEPS / 2 on average)."""
    model = init_model(preset(preset_name).model)
    graphdef, params = nnx.split(model, nnx.Param)
    params = shard_weights(params, mesh)
    V = model.cfg.vocab_size
    tokens_BT = jnp.asarray(np.arange(batch * tokens).reshape(batch, tokens) % V, jnp.int32)
    slots = tokens + DECODE_STEPS
    prefill = timeit(lambda: _prefill(graphdef, params, tokens_BT, slots=slots), 3, 1.0)
    _, cache = _prefill(graphdef, params, tokens_BT, slots=slots)
    decode = timeit(lambda: _decode(graphdef, params, tokens_BT[:, :1], cache,
                                    steps=DECODE_STEPS), 3, 1.0) / DECODE_STEPS
    return {"prefill": prefill, "decode": decode, "params": count_params(model)}


def bench_roofline(presets=PRESETS, batches=BATCHES, tokens: int = 64, quiet: bool = False,
                   mesh: Mesh | None = None) -> dict:
    peak = max(matmul_peak_gflops(1024), matmul_peak_gflops(2048)) * 1e9
    bandwidth = memory_bandwidth_gbs() * 1e9
    if not quiet:
        print(f"  matmul peak {peak / 1e9:,.1f} GFLOP/s, memory bandwidth {bandwidth / 1e9:,.1f} GB/s, "
              f"ridge {ridge_point(peak, bandwidth):.1f} FLOP/byte")
    rows = []
    for name in presets:
        cfg = preset(name).model
        n = min(tokens, cfg.context_len - DECODE_STEPS)
        for batch in batches:
            measured = phase_seconds(name, batch, n, mesh)
            for phase in ("prefill", "decode"):
                at = n if phase == "prefill" else n + DECODE_STEPS // 2     # mean cache length
                cost = phase_cost(cfg, phase, batch, at)
                seconds = measured[phase]
                roof = attainable_flops(cost["arithmetic_intensity"], peak, bandwidth)
                rows.append({"preset": name, "params": measured["params"], "phase": phase,
                             "batch": batch, "tokens": at,
                             "arithmetic_intensity": round(cost["arithmetic_intensity"], 3),
                             "flops": cost["flops"], "bytes": cost["bytes"],
                             "seconds": round(seconds, 6),
                             "achieved_gflops": round(cost["flops"] / seconds / 1e9, 2),
                             "achieved_gbs": round(cost["bytes"] / seconds / 1e9, 2),
                             "roof_gflops": round(roof / 1e9, 2),
                             "fraction_of_roof": round(cost["flops"] / seconds / roof, 3)})
                if not quiet:
                    r = rows[-1]
                    print(f"  {name:<22} {phase:<7} b{batch:<3} intensity {r['arithmetic_intensity']:>8.2f}"
                          f"  {r['achieved_gflops']:>8.1f} GFLOP/s  ({r['fraction_of_roof']:.2f} of roof)")
    result = {"benchmark": "roofline", "matmul_peak_gflops": round(peak / 1e9, 1),
              "memory_bandwidth_gbs": round(bandwidth / 1e9, 2),
              "ridge_flops_per_byte": round(ridge_point(peak, bandwidth), 2), "tokens": tokens,
              "critical_batch": {name: _finite(critical_batch(preset(name).model,
                                                              min(tokens, preset(name).model.context_len - DECODE_STEPS),
                                                              peak, bandwidth))
                                 for name in presets},
              "rows": rows, **environment()}
    if not quiet:
        print_table({k: v for k, v in result.items() if k != "rows"})
    return result


def _finite(x: float):
    return None if x == float("inf") else x
