"""The roofline: how many FLOPs a phase of inference does per byte it moves, and what that
allows on a machine with a given matmul peak and memory bandwidth.

A processor can do at most `peak` FLOP/s and read at most `bandwidth` bytes/s. Work that does
I FLOPs per byte read (its *arithmetic intensity*) can therefore run at most at
min(peak, I * bandwidth): below the *ridge point* I = peak / bandwidth it waits on memory,
above it on arithmetic (Williams, Waterman & Patterson, "Roofline", CACM 2009).

Inference has two phases with very different intensities:
- **prefill** runs B x T prompt tokens through every weight matrix at once: each weight read
  serves B * T tokens, so the intensity grows with B * T and a prompt of a few dozen tokens is
  already compute-bound;
- **decode** feeds one token per sequence: every weight is read once per step and serves only
  B tokens, and every sequence's cached keys and values are read too. Its intensity grows with
  the batch until the cache reads, which also grow with the batch, cap it.

Bytes counted (say what you count): the weight matrices once per forward pass (the rows of the
embedding a lookup touches are negligible), the KV cache read by a decode step or written by a
prefill. Activations are left out: they are small next to the weights at the batch sizes here
and stay in cache on a CPU. FLOPs come from `counts.py`, the library's only FLOP formulas.
"""

from __future__ import annotations

import math

from rawweights_jax.analysis.counts import (attention_flops_per_token, dtype_bytes, kv_bytes,
                                            matmul_flops_per_token)
from rawweights_jax.config import ModelConfig

PHASES = ("prefill", "decode")


def streamed_weight_bytes(cfg: ModelConfig, dtype: str = "float32") -> float:
    """Bytes of the weight matrices one forward pass reads (active experts only)."""
    return matmul_flops_per_token(cfg) / 2 * dtype_bytes(dtype)


# --8<-- [start:phase]
def phase_cost(cfg: ModelConfig, phase: str, batch: int, tokens: int,
               dtype: str = "float32") -> dict:
    """FLOPs, bytes and arithmetic intensity of one forward pass.

    prefill: `batch` prompts of `tokens` tokens each, run at once, writing their KV cache;
    decode: one new token for each of `batch` sequences that already hold `tokens` in the cache.
    """
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}: expected one of {', '.join(PHASES)}")
    if batch < 1 or tokens < 1:
        raise ValueError(f"batch and tokens must be >= 1, got batch={batch}, tokens={tokens}")
    weights = streamed_weight_bytes(cfg, dtype)
    matmul = matmul_flops_per_token(cfg)
    if phase == "prefill":
        flops = batch * tokens * (matmul + attention_flops_per_token(cfg, tokens, average=True))
    else:
        flops = batch * (matmul + attention_flops_per_token(cfg, tokens + 1))
    cache = kv_bytes(cfg, tokens, batch, dtype)     # written by a prefill, read by a decode step
    moved = weights + cache
    return {"phase": phase, "batch": batch, "tokens": tokens, "flops": flops,
            "weight_bytes": weights, "kv_bytes": cache, "bytes": moved,
            "arithmetic_intensity": flops / moved}
# --8<-- [end:phase]


def attainable_flops(intensity: float, peak_flops: float, bandwidth: float) -> float:
    """The roofline itself: the most FLOP/s work of this intensity can reach."""
    return min(peak_flops, intensity * bandwidth)


def ridge_point(peak_flops: float, bandwidth: float) -> float:
    """The intensity (FLOP per byte) where memory stops being the limit."""
    return peak_flops / bandwidth


# --8<-- [start:critical]
def critical_batch(cfg: ModelConfig, context: int, peak_flops: float, bandwidth: float,
                   dtype: str = "float32") -> float:
    """The smallest decode batch whose step is compute-bound at `context` cached tokens, or
    `math.inf` when none is: each sequence adds its cache reads as well as its FLOPs, so the
    intensity of a decode step approaches (FLOPs per token) / (cache bytes per sequence) and
    never passes the ridge if that limit is below it.

    Solves B * f >= ridge * (W + B * c) for B, with f the FLOPs of one token, W the weight
    bytes and c one sequence's cache bytes.
    """
    ridge = ridge_point(peak_flops, bandwidth)
    f = matmul_flops_per_token(cfg) + attention_flops_per_token(cfg, context + 1)
    W = streamed_weight_bytes(cfg, dtype)
    c = kv_bytes(cfg, context, 1, dtype)
    if f <= ridge * c:
        return math.inf
    return math.ceil(ridge * W / (f - ridge * c))
# --8<-- [end:critical]
