"""Pruning the trained robot student, measured: validation loss against sparsity for magnitude
pruning (per matrix and global) and 2:4, each without and with a short fine-tune that keeps the
zeros; and what the zeros do to speed on this machine.

Quality: every point prunes the same trained checkpoint, is scored on the same 512 validation
windows (`inference.quant.val_loss`, as `bench quant` scores its variants), then fine-tuned for
the same number of steps at the same constant learning rate, on the same batches, and scored
again. A point at sparsity 0 fine-tuned the same way says how much of a recovery is just more
training.

Speed: zeros in a dense matrix are multiplied like any other number, so the question is an
empirical one about XLA:CPU. Batch-1 decode on the `shakespeare-char` shape (as `bench quant`
times it) with 0%, 50% and 90% of its matrices zero and with 2:4, in interleaved rounds; and one
MLP matrix of that shape as a `jax.experimental.sparse.BCOO` (indices and values of the non-zeros
only) against the dense product. Medians, with the slowest and fastest round.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.experimental import sparse
from jax.sharding import Mesh

from rawweights_jax.bench.common import environment
from rawweights_jax.ckpt.checkpoint import load_model
from rawweights_jax.config import preset
from rawweights_jax.data.shakespeare import load_shakespeare
from rawweights_jax.inference.generate import generate
from rawweights_jax.inference.prune import (finetune, finetune_trainer, magnitude_masks,
                                            n_of_m_masks, prune_model, sparsity)
from rawweights_jax.inference.quant import val_loss
from rawweights_jax.model.gpt import init_model
from rawweights_jax.parallel.sharding import shard_model

SPARSITIES = (0.0, 0.25, 0.5, 0.6, 0.7, 0.8, 0.9)
METHODS = ("magnitude", "global", "2:4")
SPEED_SPARSITIES = (0.5, 0.9)


def points(sparsities=SPARSITIES) -> list[str]:
    """Every point's name: `magnitude@0.5` (per matrix), `global@0.5`, and `2:4`."""
    return [f"{m}@{s}" for m in ("magnitude", "global") for s in sparsities] + ["2:4"]


def masks_of(point: str, params):
    """The masks a point's name asks for."""
    if point == "2:4":
        return n_of_m_masks(params, 2, 4)
    method, _, s = point.partition("@")
    if method not in ("magnitude", "global") or not s:
        raise ValueError(f"point {point!r}: expected 2:4, magnitude@<sparsity> or global@<sparsity>")
    return magnitude_masks(params, float(s), "matrix" if method == "magnitude" else "global")


def quality(ckpt: Path, chosen: list[str], steps: int, lr: float, seed: int = 0,
            say: Callable[[str], None] = print) -> dict:
    """Each point's sparsity and validation loss, before and after `steps` fine-tuning steps."""
    model, tokenizer, run, _ = load_model(ckpt)
    data = load_shakespeare()
    if tokenizer.chars != data.tokenizer.chars:
        raise ValueError(f"{ckpt} was trained on another vocabulary than tiny Shakespeare's")
    params = nnx.state(model, nnx.Param)
    score = lambda m: round(val_loss(m, data.val_Z, run.model.context_len, count=512), 5)
    trainer = finetune_trainer(run, nnx.graphdef(model), data, steps, lr) if steps else None
    out = {}
    for point in chosen:
        pruned = prune_model(model, masks_of(point, params))
        got = sparsity(nnx.state(pruned, nnx.Param))
        row = {"sparsity": round(got["prunable"], 6), "sparsity_all_params": round(got["all"], 6),
               "val_loss": score(pruned)}
        if trainer is not None:
            tuned, losses = finetune(trainer, pruned, seed)
            row.update(finetuned_val_loss=score(tuned),
                       finetuned_sparsity=round(sparsity(nnx.state(tuned, nnx.Param))["prunable"], 6),
                       finetune_loss=[round(x, 5) for x in losses])
        say(f"{point:16} sparsity {row['sparsity']:.3f}  val {row['val_loss']:.4f}"
            + (f"  fine-tuned {row['finetuned_val_loss']:.4f}" if trainer is not None else ""))
        out[point] = row
    return {"finetune_steps": steps, "finetune_lr": lr, "finetune_seed": seed,
            "val_windows": 512, "points": out}


def interleaved(calls: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Wall seconds of every call in every round, each round running every call once in turn
    (so the machine's load hits all alike); each is run once first, to compile it."""
    for call in calls.values():
        jax.block_until_ready(call())
    seconds = {k: [] for k in calls}
    for _ in range(rounds):
        for key, call in calls.items():
            t0 = time.perf_counter()
            jax.block_until_ready(call())
            seconds[key].append(time.perf_counter() - t0)
    return seconds


def _summary(name: str, rates: list[float], unit: str) -> dict:
    rates = sorted(rates)
    return {f"{name}_{unit}": round(float(np.median(rates)), 1),
            f"{name}_{unit}_range": [round(rates[0], 1), round(rates[-1], 1)]}


def decode_speed(preset_name: str, new_tokens: int, rounds: int, mesh: Mesh | None) -> dict:
    """Batch-1 decode tokens/s of a model with 0%, 50%, 90% and 2:4 zeros in its matrices."""
    model = init_model(preset(preset_name).model)
    params = nnx.state(model, nnx.Param)
    variants = {"dense": model, "2:4": prune_model(model, n_of_m_masks(params))}
    for s in SPEED_SPARSITIES:
        variants[f"magnitude@{s}"] = prune_model(model, magnitude_masks(params, s))
    calls = {k: (lambda m=shard_model(m, mesh): generate(m, [[0]], new_tokens, temperature=1.0,
                                                         seed=0, mesh=mesh))
             for k, m in variants.items()}
    out = {}
    for key, secs in interleaved(calls, rounds).items():
        out.update(_summary(f"decode_{key}", [new_tokens / s for s in secs], "tokens_per_second"))
    for key in variants:
        out[f"decode_{key}_speedup"] = round(out[f"decode_{key}_tokens_per_second"]
                                             / out["decode_dense_tokens_per_second"], 3)
    return out


def bcoo_speed(preset_name: str, rounds: int, repeat: int = 200, batches=(1, 8)) -> dict:
    """Microseconds per product x @ W for one MLP input matrix of the preset's shape (first
    layer, fresh weights), dense and as BCOO at each of SPEED_SPARSITIES (magnitude pruned)."""
    w_DF = init_model(preset(preset_name).model).blocks[0].mlp.w_in_DF[...]
    product = jax.jit(lambda x, w: x @ w)
    calls, shapes = {}, {}
    for s in SPEED_SPARSITIES:
        keep = magnitude_masks({"w_in_DF": w_DF}, s)["w_in_DF"]
        pruned = jnp.where(keep, w_DF, 0.0)
        as_bcoo = sparse.BCOO.fromdense(pruned)
        shapes[s] = int(as_bcoo.nse)
        for batch in batches:
            x = jax.random.normal(jax.random.key(batch), (batch, w_DF.shape[0]))
            if s == SPEED_SPARSITIES[0]:
                calls[f"dense_b{batch}"] = lambda x=x: _repeat(product, x, w_DF, repeat)
            calls[f"bcoo@{s}_b{batch}"] = lambda x=x, w=as_bcoo: _repeat(product, x, w, repeat)
            diff = float(jnp.max(jnp.abs(product(x, as_bcoo) - product(x, pruned))))
            if diff > 1e-4:
                raise AssertionError(f"the BCOO product differs from the dense one by {diff}")
    out = {"bcoo_matrix_shape": list(w_DF.shape), "bcoo_repeat": repeat,
           **{f"bcoo@{s}_stored_values": n for s, n in shapes.items()}}
    for key, secs in interleaved(calls, rounds).items():
        out.update(_summary(f"matmul_{key}", [s / repeat * 1e6 for s in secs], "microseconds"))
    for s in SPEED_SPARSITIES:
        for batch in batches:
            out[f"matmul_bcoo@{s}_b{batch}_speedup"] = round(
                out[f"matmul_dense_b{batch}_microseconds"] / out[f"matmul_bcoo@{s}_b{batch}_microseconds"], 3)
    return out


def _repeat(fn, x, w, n: int):
    for _ in range(n):
        y = fn(x, w)
    return y


def bench_prune(ckpt: Path, chosen: list[str] | None = None, steps: int = 200, lr: float = 1e-4,
                new_tokens: int = 128, rounds: int = 7, with_speed: bool = True,
                mesh: Mesh | None = None, preset_name: str = "shakespeare-char",
                say: Callable[[str], None] = print) -> dict:
    """Quality on the checkpoint at `ckpt` and speed on `preset_name`'s shape, one JSON-able dict."""
    load_before = os.getloadavg()
    result = {"benchmark": "prune", "quality_checkpoint": str(ckpt),
              **quality(ckpt, chosen or points(), steps, lr, say=say)}
    if with_speed:
        result.update(speed_preset=preset_name, new_tokens=new_tokens, rounds=rounds,
                      **decode_speed(preset_name, new_tokens, rounds, mesh),
                      **bcoo_speed(preset_name, rounds))
    return {**result,
            "loadavg_before_after": [round(x, 2) for x in (*load_before[:1], os.getloadavg()[0])],
            **environment()}
