"""Benchmarks of the modern architectures: `rawweights bench arch` and `rawweights bench moe`.

- `bench_arch`: training and decoding speed of the CPU presets side by side: GPT-2 style
  (`shakespeare-char-cpu`), Llama style (`llama-char-cpu`) and mixture of experts
  (`moe-char-cpu`), each trained for a few hundred steps on tiny Shakespeare and decoded
  with the KV cache at batch 1 and 8.
- `bench_moe`: one MoE layer, forward and backward, with the sorted dispatch (each expert
  computes only its tokens) against the dense reference (every expert computes every token),
  at a training-sized and a decoding-sized batch.

Compilation is excluded: every measured function runs once before it is timed.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from rawweights_jax.bench import _print_table, _timeit, environment
from rawweights_jax.config import preset

ARCH_PRESETS = ("shakespeare-char-cpu", "llama-char-cpu", "moe-char-cpu")


def bench_arch(presets=ARCH_PRESETS, iters: int = 300, new_tokens: int = 48,
               quiet: bool = False) -> dict:
    """Per preset: training ms/step and tokens/s, loss after `iters`, decode tokens/s."""
    from rawweights_jax.analysis import param_counts
    from rawweights_jax.data import load_shakespeare
    from rawweights_jax.generate import generate
    from rawweights_jax.model import count_params
    from rawweights_jax.train import train

    data = load_shakespeare()
    rows = []
    for name in presets:
        cfg = preset(name).replace(max_iters=iters, eval_interval=iters)
        result = train(cfg, data, progress=None)
        tps = np.asarray(result.history["tokens_per_second"][cfg.steps_per_dispatch:])
        ms = float(np.median(cfg.tokens_per_iter / tps * 1000))
        model, row = result.model, {"preset": name, "params": count_params(result.model)}
        if cfg.n_experts:
            row["active_params_per_token"] = param_counts(cfg)["active"]
        row.update(train_ms_per_iter=round(ms, 3), train_tokens_per_second=round(cfg.tokens_per_iter / ms * 1000, 1),
                   val_loss_after=round(result.history["eval"][-1]["val_loss"], 4))
        for batch in (1, 8):
            prompts = [[b % cfg.vocab_size] for b in range(batch)]
            seconds = _timeit(lambda: generate(model, prompts, new_tokens, seed=0), 3)
            row[f"decode_b{batch}_tokens_per_second"] = round(batch * new_tokens / seconds, 1)
        rows.append(row)
        if not quiet:
            print("  " + ", ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    return {"benchmark": "arch", "iters": iters, "decode_new_tokens": new_tokens, "runs": rows,
            **environment()}


def bench_moe(tokens=(768, 8), d_model: int = 128, d_expert: int = 128, n_experts: int = 8,
              k: int = 2, quiet: bool = False) -> dict:
    """Forward+backward time of one MoE layer, sorted dispatch vs the dense reference."""
    from rawweights_jax.config import Config
    from rawweights_jax.moe import MoE

    from flax import nnx
    rows = []
    for n in tokens:
        x_BTD = jax.random.normal(jax.random.key(0), (1, n, d_model))
        times = {}
        for dispatch in ("sorted", "dense"):
            cfg = Config(d_model=d_model, n_heads=4, n_experts=n_experts, experts_per_token=k,
                         d_expert=d_expert, mlp="swiglu", moe_dispatch=dispatch)
            graphdef, params = nnx.split(MoE(cfg, rngs=nnx.Rngs(0)), nnx.Param)

            @jax.jit
            def loss_and_grad(params, x_BTD, graphdef=graphdef):
                f = lambda p: jnp.square(nnx.merge(graphdef, p)(x_BTD)[0].astype(jnp.float32)).mean()
                return jax.value_and_grad(f)(params)
            times[dispatch] = _timeit(lambda: loss_and_grad(params, x_BTD), 7)
        rows.append({"tokens": n, "sorted_ms": round(times["sorted"] * 1000, 3),
                     "dense_ms": round(times["dense"] * 1000, 3),
                     "dense_over_sorted": round(times["dense"] / times["sorted"], 3),
                     "expert_rows_dense": n * n_experts, "expert_rows_sorted_max":
                     _sorted_rows(n * k, n_experts)})
        if not quiet:
            print("  " + ", ".join(f"{k_}={v}" for k_, v in rows[-1].items()), flush=True)
    out = {"benchmark": "moe", "d_model": d_model, "d_expert": d_expert, "n_experts": n_experts,
           "experts_per_token": k, "runs": rows, **environment()}
    if not quiet:
        _print_table({k_: v for k_, v in out.items() if k_ != "runs"})
    return out


def _sorted_rows(assignments: int, n_experts: int) -> int:
    from rawweights_jax.moe import tile_count, tile_rows
    M = tile_rows(assignments, n_experts)
    return tile_count(assignments, n_experts, M) * M
