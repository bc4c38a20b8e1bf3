"""`rawweights bench train`: a preset's full training run, timed, with its model FLOPs utilisation.

MFU divides the model's training FLOPs (analysis/counts.py: every matrix a token passes
through, SwiGLU's third matrix and only the active experts included, plus attention over the
causal context) by the matrix-product peak measured on the same machine in the same process,
before and after the run. The peak is the larger of the two: a shared VM's rate dips for
seconds at a time, and one peak measured in a dip (a run once reported an MFU of 0.97) makes
the utilisation look better than it is. Both measurements are in the result, so a dip shows.
"""

from __future__ import annotations

import numpy as np
from jax.sharding import Mesh

from rawweights_jax.analysis.counts import flops_per_token
from rawweights_jax.bench.common import environment, matmul_peak_gflops, print_table
from rawweights_jax.config import ModelConfig, preset
from rawweights_jax.data.shakespeare import load_shakespeare
from rawweights_jax.train.loop import train


def bench_train(preset_name: str = "shakespeare-char-cpu", max_iters: int | None = None,
                quiet: bool = False, seed: int | None = None, mesh: Mesh | None = None) -> dict:
    """The preset's full training run; per-step time excludes evaluation and compilation.

    `seed` replaces the preset's: the final loss of one run is one draw, and comparing it with
    another implementation's takes several seeds of each. `mesh` splits each batch over its
    devices (the command line passes one device per core)."""
    run = preset(preset_name)
    if seed is not None:
        run = run.replace(seed=seed)
    if max_iters is not None:
        run = run.replace(max_iters=max_iters, warmup_iters=min(run.train.warmup_iters, max_iters))
    data = load_shakespeare()
    peak_before = matmul_peak_gflops(repeat=20)
    result = train(run, data, progress=None if quiet else print, mesh=mesh)
    peak_after = matmul_peak_gflops(repeat=20)
    peak = max(peak_before, peak_after)
    # per-step time of each dispatch, excluding the compiling first one of each length
    tps = np.asarray(result.history["tokens_per_second"][run.train.steps_per_dispatch:])
    ms_per_iter = float(np.median(run.tokens_per_iter / tps * 1000))
    val_loss = result.trainer.evaluate(result.state, n_batches=200)["val_loss"]
    flops_per_iter = train_flops_per_token(run.model) * run.tokens_per_iter
    achieved = flops_per_iter / (ms_per_iter / 1000) / 1e9
    out = {"benchmark": "train", "preset": preset_name, "seed": run.train.seed, "iters": run.train.max_iters,
           "tokens_per_iter": run.tokens_per_iter, "ms_per_iter": round(ms_per_iter, 3),
           "tokens_per_second": round(run.tokens_per_iter / ms_per_iter * 1000, 1),
           "val_loss": round(val_loss, 4), "final_train_loss": round(result.history["loss"][-1], 4),
           "model_gflops_per_iter": round(flops_per_iter / 1e9, 4),
           "achieved_gflops": round(achieved, 2), "matmul_peak_gflops": round(peak, 2),
           "matmul_peak_gflops_before_after": [round(peak_before, 2), round(peak_after, 2)],
           "mfu": round(achieved / peak, 4), "wall_seconds": round(result.history["wall_seconds"], 1),
           **environment()}
    if not quiet:
        print_table(out)
    return out


def train_flops_per_token(cfg: ModelConfig) -> float:
    """Model FLOPs to train on one token of a full-context sequence: the analysis's figure
    (analysis/counts.py), the same one `rawweights inspect` prints."""
    return flops_per_token(cfg, cfg.context_len)["train"]
