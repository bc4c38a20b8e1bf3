"""`rawweights bench attention`: forward+backward time and peak memory of each attention backend
over sequence length."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from rawweights_jax.bench.common import environment, timeit
from rawweights_jax.nn.attention.attend import BACKENDS, attend
from rawweights_jax.nn.attention.mask import causal_mask


def measure_attention(backend: str, T: int, batch: int = 1, heads: int = 4,
                      head_dim: int = 64) -> dict:
    """One backend at one length: forward+backward ms (median of 3 runs, 1 past T=2048) and
    the compiled call's peak memory. Runs the Pallas kernel interpreted on a CPU, if asked."""
    k1, k2, k3 = jax.random.split(jax.random.key(T), 3)
    q, k, v = (jax.random.normal(kk, (batch, T, heads, head_dim), jnp.float32) for kk in (k1, k2, k3))
    mask = causal_mask(batch, T)
    # --8<-- [start:attention_measure]
    loss = lambda q, k, v: attend(q, k, v, mask, backend).sum()
    fn = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2)))
    mem = fn.lower(q, k, v).compile().memory_analysis()
    peak = (mem.temp_size_in_bytes + mem.argument_size_in_bytes
            + mem.output_size_in_bytes) if mem is not None else None
    seconds = timeit(lambda: fn(q, k, v), 3 if T <= 2048 else 1)
    # --8<-- [end:attention_measure]
    return {"backend": backend, "T": T, "ms": round(seconds * 1000, 2), "peak_bytes": peak}


def bench_attention(lengths=(256, 512, 1024, 2048, 4096, 8192),
                    backends=("naive", "xla", "blockwise", "pallas"), batch: int = 1,
                    heads: int = 4, head_dim: int = 64, quiet: bool = False) -> dict:
    """Forward+backward time and peak memory of each attention backend over sequence length.

    Peak memory is XLA's own account of the compiled function (`memory_analysis`: arguments,
    outputs and temporary buffers), the same figure on every run. On a CPU the Pallas kernel
    can only run in interpret mode, which measures the interpreter, so it is skipped there
    (`measure_attention("pallas", T)` times it anyway, for a picture of the interpreter).
    """
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        raise ValueError(f"unknown backend(s) {', '.join(unknown)}: expected {', '.join(BACKENDS)}")
    on_cpu = jax.default_backend() == "cpu"
    rows = []
    for T in lengths:
        for name in backends:
            if name == "pallas" and on_cpu:
                rows.append({"backend": name, "T": T, "skipped": "interpret mode only on CPU"})
                continue
            rows.append(measure_attention(name, T, batch, heads, head_dim))
            if not quiet:
                r = rows[-1]
                print(f"  {name:>9}  T={T:>5}  {r['ms']:>9.1f} ms  "
                      f"{(r['peak_bytes'] or 0) / 2**20:>9.1f} MiB")
    out = {"benchmark": "attention", "batch": batch, "heads": heads, "head_dim": head_dim,
           "runs": rows, **environment()}
    longest = max(lengths)
    peak_of = {r["backend"]: r.get("peak_bytes") for r in rows if r["T"] == longest}
    if peak_of.get("naive") and peak_of.get("blockwise"):
        out[f"blockwise_over_naive_peak_at_{longest}"] = round(peak_of["blockwise"] / peak_of["naive"], 4)
    return out
