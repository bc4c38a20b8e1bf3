"""`rawweights bench scaling`: an isoFLOP sweep of tiny GPTs on tiny Shakespeare, and the
scaling laws fitted to it (analysis/scaling.py).

For each compute budget C, four model shapes are trained for D = C / (training FLOPs per
token) tokens each, so every run of a budget costs the same compute (analysis/counts.py:
6 N D plus attention over the causal context). Each run's learning rate warms up and then
follows a cosine to its last step, as the Chinchilla runs did (a schedule longer than the run
overstates the loss of short runs). Every run is scored on the same fixed validation set: the
first VAL_WINDOWS non-overlapping windows of the validation split.

A couple of points are run again with another seed: their spread is the noise against which a
re-run (tests/test_lib_scaling.py, with --quick) is judged.
"""

from __future__ import annotations

import sys
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from rawweights_jax.analysis.counts import flops_per_token, param_counts
from rawweights_jax.analysis.scaling import bootstrap_law, isoflop_frontier
from rawweights_jax.bench.common import environment
from rawweights_jax.config import ModelConfig, RunConfig, TrainConfig
from rawweights_jax.data.shakespeare import Dataset, load_shakespeare
from rawweights_jax.train.loop import train

CONTEXT = 64
"""T: characters per training sequence (nanoGPT's CPU preset's context)."""
SHAPES: dict[str, tuple[int, int]] = {
    "L2-d24": (2, 24), "L2-d32": (2, 32), "L2-d48": (2, 48), "L2-d64": (2, 64),
    "L3-d80": (3, 80), "L3-d112": (3, 112), "L4-d128": (4, 128),
}
"""Name -> (layers, width) of the ladder of GPT-2-style models; heads are 16 wide (one head of
24 in the smallest)."""
BUDGETS: dict[float, tuple[str, ...]] = {
    5e11: ("L2-d24", "L2-d32", "L2-d48", "L2-d64"),
    1.25e12: ("L2-d32", "L2-d48", "L2-d64", "L3-d80"),
    3e12: ("L2-d48", "L2-d64", "L3-d80", "L3-d112"),
}
"""Training FLOPs -> the four shapes trained at that budget: the ladder slides up with C, as
the best model grows with compute, so each isoFLOP curve brackets its own minimum. A factor
of 6 in compute, small enough for the whole sweep to take under 30 minutes on a 2-core CPU
shared with other work, and for its cheapest point to be re-run in a test."""
SEED, NOISE_SEED = 0, 1
NOISE_POINTS = ((5e11, "L2-d24"), (1.25e12, "L2-d48"))
"""(budget, shape) run again with NOISE_SEED: the first is the cheapest point the test re-runs."""
RECIPE = TrainConfig(batch_size=64, lr=2e-3, min_lr=2e-4, warmup_iters=100, beta2=0.99,
                     weight_decay=0.1, grad_clip=1.0, eval_iters=2, steps_per_dispatch=50, seed=SEED)
"""Shared by every run but for max_iters (and a shorter warm-up where a run is short)."""
PER_RUN = ("max_iters", "lr_decay_iters", "eval_interval", "warmup_iters", "seed")
"""Recipe fields each run sets for itself (point_run), left out of the recorded shared recipe."""
VAL_WINDOWS = 1024
"""Fixed validation set: 1024 windows of CONTEXT characters, 65,536 predicted characters."""
CHINCHILLA = {"tokens_per_param": 20.0, "E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34,
              "beta": 0.28, "a_approach2": 0.49,
              "source": "Hoffmann et al. 2022, Training Compute-Optimal Large Language Models, "
                        "arXiv 2203.15556: Chinchilla, 70B parameters on 1.4T tokens (20 per "
                        "parameter); approach 3 fit (section 3.3); approach 2 exponent "
                        "a = 0.49 (Table 2)"}
"""The published figures the page compares with."""


def model_config(shape: str) -> ModelConfig:
    """The named shape of the ladder: GPT-2 style, 16-wide heads, 65 characters, context 64."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}: expected one of {', '.join(SHAPES)}")
    layers, width = SHAPES[shape]
    return ModelConfig(vocab_size=65, context_len=CONTEXT, n_layers=layers, d_model=width,
                       n_heads=max(1, width // 16))


def point_run(budget: float, shape: str, seed: int = SEED) -> RunConfig:
    """The run of `shape` at `budget` FLOPs: as many whole steps as the budget buys."""
    cfg = model_config(shape)
    per_token = flops_per_token(cfg, CONTEXT)["train"]
    tokens_per_step = RECIPE.batch_size * CONTEXT
    steps = int(round(budget / per_token / tokens_per_step))
    if steps < 20:
        raise ValueError(f"budget {budget:.3g} buys {shape} only {steps} steps: expected >= 20")
    recipe = RECIPE.replace(max_iters=steps, eval_interval=steps, seed=seed,
                            warmup_iters=min(RECIPE.warmup_iters, steps // 10))
    return RunConfig(cfg, recipe)


def fixed_val_loss(result, val_Z: np.ndarray, n_windows: int = VAL_WINDOWS, batch: int = 128) -> float:
    """Mean cross-entropy over the first `n_windows` non-overlapping windows of `val_Z`: the
    same characters for every run, so runs differ only by their models."""
    T = result.trainer.cfg.context_len
    if (n_windows * T + 1) > len(val_Z) or n_windows % batch:
        raise ValueError(f"{n_windows} windows of {T} (in batches of {batch}) do not fit "
                         f"{len(val_Z)} validation tokens")
    starts = np.arange(n_windows) * T
    x_WT = val_Z[starts[:, None] + np.arange(T)]
    y_WT = val_Z[starts[:, None] + np.arange(1, T + 1)]
    loss = jax.jit(lambda p, x, y: result.trainer.loss(p, x, y, None))
    losses = [loss(result.state.params, jnp.asarray(x_WT[i:i + batch]), jnp.asarray(y_WT[i:i + batch]))
              for i in range(0, n_windows, batch)]
    return float(np.mean(jax.device_get(losses)))


def train_point(budget: float, shape: str, data: Dataset, seed: int = SEED,
                mesh: Mesh | None = None) -> dict:
    """Train one point of the sweep and measure it: the `runs` entry of the result file."""
    run = point_run(budget, shape, seed)
    t0 = time.perf_counter()
    result = train(run, data, progress=None, mesh=mesh)
    counts = param_counts(run.model)
    per_token = flops_per_token(run.model, CONTEXT)["train"]
    tokens = run.train.max_iters * run.tokens_per_iter
    return {"budget": budget, "shape": shape, "n_layers": run.model.n_layers,
            "d_model": run.model.d_model, "params": counts["total"],
            "non_embedding_params": counts["non_embedding"], "flops_per_token": per_token,
            "steps": run.train.max_iters, "tokens": tokens, "flops": tokens * per_token,
            "seed": seed, "val_loss": round(fixed_val_loss(result, data.val_Z), 5),
            "final_train_loss": round(result.history["loss"][-1], 5),
            "seconds": round(time.perf_counter() - t0, 1)}


def fits(runs: list[dict], n_boot: int = 200) -> dict:
    """Approach 3 (with bootstrap intervals) and approach 2 on the main-seed runs."""
    N, D, L, C, F = (np.array([r[k] for r in runs], float)
                     for k in ("params", "tokens", "val_loss", "budget", "flops_per_token"))
    k = float(np.median(F / N))          # our C = k N D: 6 for the matrices, a bit more for attention
    law = bootstrap_law(N, D, L, n_boot=n_boot, budgets=tuple(BUDGETS), flops_per_param_token=k)
    order = np.argsort(N)
    per_token = lambda n: n * np.interp(np.log(n), np.log(N[order]), (F / N)[order])
    try:
        frontier = {key: (v.tolist() if isinstance(v, np.ndarray) else v)
                    for key, v in isoflop_frontier(C, N, L, per_token).items()}
    except ValueError as err:            # a curve without a minimum: say so, keep approach 3
        frontier = {"error": str(err)}
    return {"approach3": law, "flops_per_param_token": k, "isoflop": frontier,
            "n_boot": n_boot, "interval": "95% percentile bootstrap over runs"}


def bench_scaling(quick: bool = False, quiet: bool = False, mesh: Mesh | None = None,
                  say: Callable[[str], None] | None = None) -> dict:
    """The whole sweep (or, with `quick`, only the cheapest point), the noise re-runs, the fits.
    Progress lines go to stderr."""
    say = say or (lambda line: print(line, file=sys.stderr, flush=True))
    data = load_shakespeare()
    t0 = time.perf_counter()
    plan = [(min(BUDGETS), BUDGETS[min(BUDGETS)][0])] if quick else \
        [(c, s) for c, shapes in BUDGETS.items() for s in shapes]
    runs = []
    for i, (budget, shape) in enumerate(plan):
        runs.append(train_point(budget, shape, data, mesh=mesh))
        r = runs[-1]
        say(f"[{i + 1}/{len(plan)}] C={budget:.3g} {shape}: N={r['params']:,} D={r['tokens']:,} "
            f"val {r['val_loss']:.4f} ({r['seconds']:.0f}s, {time.perf_counter() - t0:.0f}s in all)")
    out = {"benchmark": "scaling", "quick": quick, "context": CONTEXT, "recipe": {k: v for k, v in RECIPE.to_dict().items()
                                                       if k not in PER_RUN},
           "val_windows": VAL_WINDOWS, "runs": runs}
    if not quick:
        repeats = []
        for budget, shape in NOISE_POINTS:
            again = train_point(budget, shape, data, seed=NOISE_SEED, mesh=mesh)
            first = next(r for r in runs if r["budget"] == budget and r["shape"] == shape)
            repeats.append({"budget": budget, "shape": shape, "seeds": [SEED, NOISE_SEED],
                            "val_losses": [first["val_loss"], again["val_loss"]],
                            "seconds": again["seconds"]})
            say(f"noise: C={budget:.3g} {shape} seed {NOISE_SEED}: val {again['val_loss']:.4f} "
                f"(seed {SEED}: {first['val_loss']:.4f})")
        spread = max(abs(p["val_losses"][1] - p["val_losses"][0]) for p in repeats)
        out["noise"] = {"repeats": repeats, "max_seed_spread": round(spread, 5),
                        "tolerance": round(max(2 * spread, 0.01), 5),
                        "rule": "a re-run of a point must land within tolerance = max(2 x the "
                                "largest seed-to-seed spread, 0.01) of its recorded val_loss"}
        say("fitting the scaling laws (bootstrap over runs)")
        out["fit"] = fits(runs)
        out["chinchilla"] = CHINCHILLA
    out["wall_seconds"] = round(time.perf_counter() - t0, 1)
    out.update(environment())
    if not quiet:
        for r in runs:
            print(f"  C={r['budget']:.3g} {r['shape']:<8} N={r['params']:>9,} D={r['tokens']:>11,} "
                  f"val_loss {r['val_loss']:.4f}")
    return out
