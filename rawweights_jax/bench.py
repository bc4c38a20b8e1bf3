"""Benchmarks behind `rawweights bench`: training speed and MFU, decode speed, attention cost.

Each returns a dict of measured figures (the CLI prints it, or one JSON object with --json).
Every figure is measured in the same process as the work it is compared with: the matmul
peak that MFU divides by, and the weight-streaming limit that decode speed is compared to.
Compilation is always excluded: each measured function runs once before it is timed.
"""

from __future__ import annotations

import datetime
import platform
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from rawweights_jax.config import Config, preset


def _timeit(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median wall seconds of `fn()` (already compiled), waiting for its result each time."""
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def environment() -> dict:
    devices = jax.devices()
    return {"date": datetime.date.today().isoformat(), "jax": jax.__version__,
            "platform": devices[0].platform, "device": devices[0].device_kind,
            "n_devices": len(devices), "machine": platform.machine(),
            "python": platform.python_version()}


# --8<-- [start:flops]
def train_flops_per_token(cfg: Config) -> float:
    """Model FLOPs to train on one token: 3x the forward pass (forward, then twice for backward).

    Forward: 2 FLOPs per weight in a matrix product (attention projections, MLP, unembedding),
    plus 4 * T * D per layer for the scores q.k and the weighted sum of values (the PaLM
    convention, counting the full context T; causal masking skips about half of it).
    """
    D, N, K, H, F, L = cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, cfg.d_ff, cfg.n_layers
    matmul_weights = L * (D * N * H + 2 * D * K * H + N * H * D + 2 * D * F) + D * cfg.vocab_size
    attention = L * 4 * cfg.context_len * N * H
    return 3 * (2 * matmul_weights + attention)
# --8<-- [end:flops]


def matmul_peak_gflops(n: int = 1024, repeat: int = 10) -> float:
    """Measured float32 matrix-product rate of the whole machine (all local devices at once)."""
    devices = jax.local_devices()
    x = jnp.ones((len(devices), n, n), jnp.float32)
    if len(devices) > 1:      # one product per device, run concurrently
        from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
        x = jax.device_put(x, NamedSharding(Mesh(np.array(devices), ("d",)), P("d")))
    f = jax.jit(lambda a: a @ a)
    seconds = _timeit(lambda: f(x), repeat)
    return len(devices) * 2 * n**3 / seconds / 1e9


def bench_train(preset_name: str = "shakespeare-char-cpu", max_iters: int | None = None,
                quiet: bool = False, seed: int | None = None) -> dict:
    """The preset's full training run; per-step time excludes evaluation and compilation.

    `seed` replaces the preset's: the final loss of one run is one draw, and comparing it with
    another implementation's takes several seeds of each."""
    from rawweights_jax.data import load_shakespeare
    from rawweights_jax.train import Trainer, train

    cfg = preset(preset_name)
    if seed is not None:
        cfg = cfg.replace(seed=seed)
    if max_iters is not None:
        cfg = cfg.replace(max_iters=max_iters, warmup_iters=min(cfg.warmup_iters, max_iters))
    data = load_shakespeare()
    peak = matmul_peak_gflops()
    result = train(cfg, data, progress=None if quiet else print)
    # per-step time of each dispatch, excluding the compiling first one of each length
    tps = np.asarray(result.history["tokens_per_second"][cfg.steps_per_dispatch:])
    ms_per_iter = float(np.median(cfg.tokens_per_iter / tps * 1000))
    trainer = Trainer(cfg, _graphdef(result.model), data)
    val_loss = trainer.evaluate(result.state, n_batches=200)["val_loss"]
    achieved = train_flops_per_token(cfg) * cfg.tokens_per_iter / (ms_per_iter / 1000) / 1e9
    out = {"benchmark": "train", "preset": preset_name, "seed": cfg.seed, "iters": cfg.max_iters,
           "tokens_per_iter": cfg.tokens_per_iter, "ms_per_iter": round(ms_per_iter, 3),
           "tokens_per_second": round(cfg.tokens_per_iter / ms_per_iter * 1000, 1),
           "val_loss": round(val_loss, 4), "final_train_loss": round(result.history["loss"][-1], 4),
           "model_gflops_per_iter": round(train_flops_per_token(cfg) * cfg.tokens_per_iter / 1e9, 4),
           "achieved_gflops": round(achieved, 2), "matmul_peak_gflops": round(peak, 2),
           "mfu": round(achieved / peak, 4), "wall_seconds": round(result.history["wall_seconds"], 1),
           **environment()}
    if not quiet:
        _print_table(out)
    return out


def _graphdef(model):
    from flax import nnx
    return nnx.split(model, nnx.Param)[0]


def weight_stream_steps_per_second(cfg: Config, steps: int = 256) -> float:
    """Steps/s of a chain of matrix-vector products through matrices of the model's sizes.

    Batch-1 decoding must read every weight once per token. This loop does that reading and
    almost nothing else (each product feeds the next, as in the model, so none can be
    skipped): the speed limit that memory bandwidth sets on decoding. The matrices are split
    over the devices exactly as `generate` splits the model's (parallel.py), so the limit and
    the decoder use the same cores.
    """
    from rawweights_jax.parallel import device_mesh, shard_weights

    D, N, K, H, F = cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, cfg.d_ff
    shapes = {"wqkv_DKJH": (D, K, N // K + 2, H), "wo_NHD": (N * H, D), "w_in_DF": (D, F),
              "w_out_FD": (F, D)}
    keys = iter(jax.random.split(jax.random.key(0), len(shapes) * cfg.n_layers + 1))
    layers = [{name: jax.random.normal(next(keys), s) * 0.02 for name, s in shapes.items()}
              for _ in range(cfg.n_layers)]
    weights = shard_weights({"layers": layers,
                             "unembed": jax.random.normal(next(keys), (D, cfg.vocab_size)) * 0.02},
                            device_mesh())

    @jax.jit
    def chain(weights, x_D):
        def one_token(_, x_D):
            for w in weights["layers"]:
                qkv_KJH = jnp.einsum("d,dkjh->kjh", x_D, w["wqkv_DKJH"])
                q_N_H = qkv_KJH[:, :-2].reshape(-1)
                x_D = x_D + q_N_H @ w["wo_NHD"] + 1e-3 * qkv_KJH[:, -2:].mean()
                x_D = x_D + jnp.tanh(x_D @ w["w_in_DF"]) @ w["w_out_FD"]
            return x_D + 1e-3 * (x_D @ weights["unembed"])[0]
        return jax.lax.fori_loop(0, steps, one_token, x_D)

    return steps / _timeit(lambda: chain(weights, jnp.ones((D,))), 3)


def _print_table(result: dict) -> None:
    width = max(map(len, result))
    for k, v in result.items():
        print(f"  {k:<{width}}  {v}")


def bench_decode(preset_name: str = "shakespeare-char", lengths=(64, 128, 255),
                 quiet: bool = False) -> dict:
    """Decode tokens/s with the KV cache (batch 1 and 8) and without it (batch 1).

    The model is freshly initialised: speed does not depend on what the weights are.
    Each measured call is one compiled loop over all generated tokens; a 1-token prompt.
    """
    from rawweights_jax.generate import generate
    from rawweights_jax.model import init_model

    cfg = preset(preset_name)
    if max(lengths) >= cfg.context_len:
        raise ValueError(f"lengths must be below the context ({cfg.context_len})")
    model = init_model(cfg)
    rows = []
    for n in lengths:
        for batch, cached in ((1, True), (8, True), (1, False)):
            prompts = [[b % cfg.vocab_size] for b in range(batch)]
            run = lambda: generate(model, prompts, n, temperature=1.0, seed=0, use_cache=cached)
            seconds = _timeit(run, 3)
            rows.append({"new_tokens": n, "batch": batch, "cached": cached,
                         "ms_per_step": round(seconds / n * 1000, 3),
                         "tokens_per_second": round(batch * n / seconds, 1)})
            if not quiet:
                print(f"  {'cached' if cached else 'uncached':>8} batch {batch}  {n:>4} tokens: "
                      f"{rows[-1]['tokens_per_second']:>9,.1f} tok/s  ({rows[-1]['ms_per_step']} ms/step)")
    pick = lambda b, c: [r for r in rows if (r["batch"], r["cached"]) == (b, c)]
    tps = lambda b, c: pick(b, c)[-1]["tokens_per_second"]          # the longest run
    ms = [r["ms_per_step"] for r in pick(1, True)]
    limit = weight_stream_steps_per_second(cfg)
    out = {"benchmark": "decode", "preset": preset_name,
           "params": int(sum(x.size for x in jax.tree.leaves(_params(model)))),
           "cached_b1_tokens_per_second": tps(1, True),
           "cached_b8_tokens_per_second": tps(8, True),
           "uncached_b1_tokens_per_second": tps(1, False),
           "weight_stream_steps_per_second": round(limit, 1),
           "bandwidth_limit_fraction": round(tps(1, True) / limit, 4),
           "cached_b1_ms_per_step_max_over_min": round(max(ms) / min(ms), 3),
           "runs": rows, **environment()}
    if not quiet:
        _print_table({k: v for k, v in out.items() if k != "runs"})
    return out


def _params(model):
    from flax import nnx
    return nnx.state(model, nnx.Param)


def bench_attention(lengths=(256, 512, 1024, 2048, 4096, 8192),
                    backends=("naive", "xla", "blockwise", "pallas"), batch: int = 1,
                    heads: int = 4, head_dim: int = 64, quiet: bool = False) -> dict:
    """Forward+backward time and peak memory of each attention backend over sequence length.

    Peak memory is XLA's own account of the compiled function (`memory_analysis`: arguments,
    outputs and temporary buffers), the same figure on every run. On a CPU the Pallas kernel
    can only run in interpret mode, which measures the interpreter, so it is skipped there.
    """
    from rawweights_jax.attention import BACKENDS, attend, causal_mask

    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        raise ValueError(f"unknown backend(s) {', '.join(unknown)}: expected {', '.join(BACKENDS)}")
    on_cpu = jax.default_backend() == "cpu"
    rows = []
    for T in lengths:
        k1, k2, k3 = jax.random.split(jax.random.key(T), 3)
        shape = (batch, T, heads, head_dim)
        q, k, v = (jax.random.normal(kk, shape, jnp.float32) for kk in (k1, k2, k3))
        mask = causal_mask(batch, T)
        for name in backends:
            if name == "pallas" and on_cpu:
                rows.append({"backend": name, "T": T, "skipped": "interpret mode only on CPU"})
                continue
            # --8<-- [start:attention_measure]
            loss = lambda q, k, v, name=name: attend(q, k, v, mask, name).sum()
            fn = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2)))
            mem = fn.lower(q, k, v).compile().memory_analysis()
            peak = (mem.temp_size_in_bytes + mem.argument_size_in_bytes
                    + mem.output_size_in_bytes) if mem is not None else None
            seconds = _timeit(lambda: fn(q, k, v), 3 if T <= 2048 else 1)
            # --8<-- [end:attention_measure]
            rows.append({"backend": name, "T": T, "ms": round(seconds * 1000, 2),
                         "peak_bytes": peak})
            if not quiet:
                print(f"  {name:>9}  T={T:>5}  {seconds * 1000:>9.1f} ms  "
                      f"{(peak or 0) / 2**20:>9.1f} MiB")
    out = {"benchmark": "attention", "batch": batch, "heads": heads, "head_dim": head_dim,
           "runs": rows, **environment()}
    longest = max(lengths)
    peak_of = {r["backend"]: r.get("peak_bytes") for r in rows if r["T"] == longest}
    if peak_of.get("naive") and peak_of.get("blockwise"):
        out[f"blockwise_over_naive_peak_at_{longest}"] = round(peak_of["blockwise"] / peak_of["naive"], 4)
    return out
