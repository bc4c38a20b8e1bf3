"""`rawweights bench moe`: one mixture-of-experts layer, forward and backward, with the sorted
dispatch (each expert computes only its tokens) against the dense reference (every expert
computes every token), at a training-sized and a decoding-sized batch."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from rawweights_jax.bench.common import environment, print_table, timeit
from rawweights_jax.config import ModelConfig, Runtime
from rawweights_jax.nn.moe import MoE, tile_count, tile_rows


def bench_moe(tokens=(768, 8), d_model: int = 128, d_expert: int = 128, n_experts: int = 8,
              k: int = 2, quiet: bool = False) -> dict:
    """Forward+backward time of one MoE layer, sorted dispatch vs the dense reference."""
    rows = []
    for n in tokens:
        x_BTD = jax.random.normal(jax.random.key(0), (1, n, d_model))
        times = {}
        for dispatch in ("sorted", "dense"):
            cfg = ModelConfig(d_model=d_model, n_heads=4, n_experts=n_experts, experts_per_token=k,
                         d_expert=d_expert, mlp="swiglu")
            graphdef, params = nnx.split(MoE(cfg, Runtime(moe_dispatch=dispatch), rngs=nnx.Rngs(0)), nnx.Param)

            @jax.jit
            def loss_and_grad(params, x_BTD, graphdef=graphdef):
                f = lambda p: jnp.square(nnx.merge(graphdef, p)(x_BTD)[0].astype(jnp.float32)).mean()
                return jax.value_and_grad(f)(params)
            times[dispatch] = timeit(lambda: loss_and_grad(params, x_BTD), 7)
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
        print_table({k_: v for k_, v in out.items() if k_ != "runs"})
    return out


def _sorted_rows(assignments: int, n_experts: int) -> int:
    M = tile_rows(assignments, n_experts)
    return tile_count(assignments, n_experts, M) * M
