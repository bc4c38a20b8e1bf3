"""`rawweights bench decode`: tokens per second with and without the KV cache, against the
speed limit that streaming every weight once per token sets on this machine."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.sharding import Mesh

from rawweights_jax.bench.common import environment, print_table, timeit
from rawweights_jax.config import ModelConfig, preset
from rawweights_jax.inference.generate import generate
from rawweights_jax.model.gpt import count_params, init_model
from rawweights_jax.parallel.sharding import shard_model, shard_weights


def weight_stream_steps_per_second(cfg: ModelConfig, steps: int = 256,
                                   mesh: Mesh | None = None) -> float:
    """Steps/s of a chain of matrix-vector products through matrices of the model's sizes.

    Batch-1 decoding must read every weight once per token. This loop does that reading and
    almost nothing else (each product feeds the next, as in the model, so none can be
    skipped): the speed limit that memory bandwidth sets on decoding. The matrices are split
    over `mesh` exactly as `generate` splits the model's (parallel/sharding.py), so the limit
    and the decoder use the same cores.
    """
    D, N, K, H, F = cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim, cfg.d_ff
    shapes = {"wqkv_DKJH": (D, K, N // K + 2, H), "wo_NHD": (N * H, D), "w_in_DF": (D, F),
              "w_out_FD": (F, D)}
    keys = iter(jax.random.split(jax.random.key(0), len(shapes) * cfg.n_layers + 1))
    layers = [{name: jax.random.normal(next(keys), s) * 0.02 for name, s in shapes.items()}
              for _ in range(cfg.n_layers)]
    weights = shard_weights({"layers": layers,
                             "unembed": jax.random.normal(next(keys), (D, cfg.vocab_size)) * 0.02},
                            mesh)

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

    return steps / timeit(lambda: chain(weights, jnp.ones((D,))), 3)



def bench_decode(preset_name: str = "shakespeare-char", lengths=(64, 128, 255),
                 quiet: bool = False, mesh: Mesh | None = None) -> dict:
    """Decode tokens/s with the KV cache (batch 1 and 8) and without it (batch 1).

    The model is freshly initialised: speed does not depend on what the weights are.
    Each measured call is one compiled loop over all generated tokens; a 1-token prompt.
    """
    cfg = preset(preset_name).model
    if max(lengths) >= cfg.context_len:
        raise ValueError(f"lengths must be below the context ({cfg.context_len})")
    model = shard_model(init_model(cfg), mesh)
    rows = []
    for n in lengths:
        for batch, cached in ((1, True), (8, True), (1, False)):
            prompts = [[b % cfg.vocab_size] for b in range(batch)]
            run = lambda: generate(model, prompts, n, temperature=1.0, seed=0,
                                   use_cache=cached, mesh=mesh)
            seconds = timeit(run, 3)
            rows.append({"new_tokens": n, "batch": batch, "cached": cached,
                         "ms_per_step": round(seconds / n * 1000, 3),
                         "tokens_per_second": round(batch * n / seconds, 1)})
            if not quiet:
                print(f"  {'cached' if cached else 'uncached':>8} batch {batch}  {n:>4} tokens: "
                      f"{rows[-1]['tokens_per_second']:>9,.1f} tok/s  ({rows[-1]['ms_per_step']} ms/step)")
    pick = lambda b, c: [r for r in rows if (r["batch"], r["cached"]) == (b, c)]
    tps = lambda b, c: pick(b, c)[-1]["tokens_per_second"]          # the longest run
    ms = [r["ms_per_step"] for r in pick(1, True)]
    limit = weight_stream_steps_per_second(cfg, mesh=mesh)
    out = {"benchmark": "decode", "preset": preset_name,
           "params": count_params(model),
           "cached_b1_tokens_per_second": tps(1, True),
           "cached_b8_tokens_per_second": tps(8, True),
           "uncached_b1_tokens_per_second": tps(1, False),
           "weight_stream_steps_per_second": round(limit, 1),
           "bandwidth_limit_fraction": round(tps(1, True) / limit, 4),
           "cached_b1_ms_per_step_max_over_min": round(max(ms) / min(ms), 3),
           "runs": rows, **environment()}
    if not quiet:
        print_table({k: v for k, v in out.items() if k != "runs"})
    return out
