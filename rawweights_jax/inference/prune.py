"""Pruning a trained model: which weights to set to zero, and a short fine-tune that keeps them
at zero.

Three ways to choose, each a mask (True: keep) with the shape of the parameters:

- **magnitude, per matrix** (`magnitude_masks(params, s)`): in every prunable matrix, the
  fraction `s` of weights with the smallest |w| become zero. Every matrix ends at sparsity s.
- **magnitude, global** (`magnitude_masks(params, s, scope="global")`): one threshold over all
  prunable matrices together, so a matrix of small weights loses more than one of large ones.
- **N:M structured** (`n_of_m_masks(params)`, 2:4 by default): in every group of M consecutive
  weights along the contracted (input) axis of a matrix, the N largest |w| are kept. That
  pattern, 2 of every 4, is what NVIDIA's sparse tensor cores (Ampere and later) skip.

Which weights: `PRUNABLE`, the matrices every token multiplies by through `dense` (attention's
wqkv and wo, the MLP's matrices, an untied lm_head; the names nn/quant.py quantizes, with the
number of leading contracted axes). The token and position embeddings (a lookup, and the tied
output layer), norm scales and biases are kept whole: they are few, and a zero there removes
a whole feature rather than one connection.

Counts are exact: at sparsity s a matrix of n weights loses round(s * n) of them, ties broken
by position. A mask is applied by `apply_masks` (or `prune_model` for a module); `sparsity`
reports what a model holds. `finetune` trains a pruned model a few steps with the library's own
Trainer and an optimizer (`keep_zeros`) that leaves every zero weight where it is.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from rawweights_jax.config import RunConfig
from rawweights_jax.core.names import leaf_name, weight_name
from rawweights_jax.data.shakespeare import Dataset
from rawweights_jax.nn.quant import QUANTIZABLE
from rawweights_jax.train.optimizer import make_optimizer
from rawweights_jax.train.trainer import Trainer, TrainState

PRUNABLE = QUANTIZABLE   # name -> leading contracted axes: the matrices `dense` multiplies by
SCOPES = ("matrix", "global")


def check_sparsity(sparsity: float) -> float:
    """`sparsity` as a float, or a ValueError unless it is a fraction in [0, 1)."""
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float)) or not 0 <= sparsity < 1:
        raise ValueError(f"sparsity={sparsity!r}: expected a fraction in [0, 1)")
    return float(sparsity)


def _prunable(path) -> bool:
    return leaf_name(path) in PRUNABLE


def _map(fn, params):
    return jax.tree_util.tree_map_with_path(fn, params)


def _keep_all(w):
    return jnp.ones(jnp.shape(w), bool)


def _keep_largest(a, k: int):
    """A mask of `a`'s shape with its k smallest entries False (ties: the earlier ones)."""
    order = jnp.argsort(a.ravel(), stable=True)
    return jnp.ones(a.size, bool).at[order[:k]].set(False).reshape(a.shape)


def magnitude_masks(params, sparsity: float, scope: str = "matrix"):
    """Masks (True: keep) that zero the fraction `sparsity` of smallest-magnitude prunable
    weights, in each matrix (`scope="matrix"`) or over all of them at once (`"global"`).
    Embeddings, norms and biases get all-True masks."""
    sparsity = check_sparsity(sparsity)
    if scope not in SCOPES:
        raise ValueError(f"scope={scope!r}: expected one of {', '.join(SCOPES)}")
    if scope == "matrix":
        return _map(lambda p, w: _keep_largest(jnp.abs(w), round(sparsity * w.size))
                    if _prunable(p) else _keep_all(w), params)
    flat, treedef = jax.tree_util.tree_flatten_with_path(params)
    chosen = [i for i, (p, _) in enumerate(flat) if _prunable(p)]
    if not chosen:
        raise ValueError("no prunable matrices in params (expected names like "
                         f"{', '.join(list(PRUNABLE)[:3])})")
    a = jnp.concatenate([jnp.abs(flat[i][1]).ravel() for i in chosen])
    keep = _keep_largest(a, round(sparsity * a.size))
    masks = [_keep_all(w) for _, w in flat]
    start = 0
    for i in chosen:
        w = flat[i][1]
        masks[i] = keep[start:start + w.size].reshape(w.shape)
        start += w.size
    return jax.tree_util.tree_unflatten(treedef, masks)


# --8<-- [start:n_of_m]
def n_of_m_mask(w, n: int = 2, m: int = 4, contract: int = 1, name: str = "weight"):
    """Keep the `n` largest |w| in every group of `m` consecutive weights along the contracted
    axes (the first `contract` axes, flattened to I rows): 2:4 by default, 50% zeros."""
    if not (isinstance(n, int) and isinstance(m, int) and 0 < n < m):
        raise ValueError(f"n={n!r}, m={m!r}: expected integers with 0 < n < m")
    I = math.prod(w.shape[:contract])
    if I % m:
        raise ValueError(f"groups of {m} do not divide the {I} contracted rows of {name}")
    a_GmO = jnp.abs(w).reshape(I // m, m, -1)              # G groups of m rows, O columns
    rank_GmO = jnp.argsort(jnp.argsort(a_GmO, axis=1, stable=True), axis=1)   # 0: smallest
    return (rank_GmO >= m - n).reshape(w.shape)
# --8<-- [end:n_of_m]


def n_of_m_masks(params, n: int = 2, m: int = 4):
    """`n_of_m_mask` for every prunable matrix (its contracted axes from PRUNABLE); all-True
    masks for embeddings, norms and biases."""
    return _map(lambda p, w: n_of_m_mask(w, n, m, PRUNABLE[leaf_name(p)],
                                         weight_name(p).removesuffix(".value"))
                if _prunable(p) else _keep_all(w), params)


def apply_masks(params, masks):
    """`params` with every weight whose mask is False set to zero."""
    return jax.tree.map(lambda w, keep: jnp.where(keep, w, jnp.zeros((), w.dtype)), params, masks)


def prune_model(model: nnx.Module, masks) -> nnx.Module:
    """A copy of `model` whose weights outside `masks` are zero (the same class and forward)."""
    graphdef, params = nnx.split(model, nnx.Param)
    return nnx.merge(graphdef, apply_masks(params, masks))


def sparsity(params) -> dict[str, Any]:
    """Fraction of zero weights: over the prunable matrices, over every parameter, and per
    prunable matrix by name."""
    flat = jax.tree_util.tree_flatten_with_path(params)[0]
    zeros = {weight_name(p).removesuffix(".value"): (int(jnp.sum(w == 0)), w.size)
             for p, w in flat}
    prunable = {weight_name(p).removesuffix(".value") for p, _ in flat if _prunable(p)}
    ratio = lambda names: (sum(zeros[k][0] for k in names) / max(sum(zeros[k][1] for k in names), 1))
    return {"prunable": ratio(prunable), "all": ratio(zeros),
            "matrices": {k: zeros[k][0] / zeros[k][1] for k in sorted(prunable)}}


# ----------------------------------------------------------------------------- fine-tune
class KeepZerosState(NamedTuple):
    keep: Any      # True where a prunable weight was non-zero when the fine-tune began
    inner: Any     # the wrapped optimizer's state


# --8<-- [start:keep_zeros]
def keep_zeros(inner: optax.GradientTransformation) -> optax.GradientTransformation:
    """`inner`, except that the prunable weights that are zero at `init` stay exactly zero: their
    gradients are zeroed before `inner` sees them (so clipping and Adam's moments ignore them)
    and their updates after (so weight decay cannot move them either). The mask lives in the
    optimizer state, taken from the weights themselves, so one compiled step serves any mask."""

    def init(params):
        keep = _map(lambda p, w: (w != 0) if _prunable(p) else _keep_all(w), params)
        return KeepZerosState(keep, inner.init(params))

    def update(grads, state, params=None):
        grads = apply_masks(grads, state.keep)
        updates, inner_state = inner.update(grads, state.inner, params)
        return apply_masks(updates, state.keep), KeepZerosState(state.keep, inner_state)

    return optax.GradientTransformation(init, update)
# --8<-- [end:keep_zeros]


def finetune_trainer(run: RunConfig, graphdef: nnx.GraphDef, data: Dataset, steps: int,
                     lr: float, mesh=None) -> Trainer:
    """The library's Trainer for `steps` steps of the run's recipe at a constant learning rate
    `lr` (no warm-up, no decay), with `keep_zeros` around its AdamW. Build it once and
    `finetune` any number of pruned models of the same shape with it (one compilation)."""
    if not (isinstance(steps, int) and steps > 0):
        raise ValueError(f"steps={steps!r}: expected a positive integer")
    run = run.replace(max_iters=steps, lr=lr, min_lr=lr, warmup_iters=0, lr_decay_iters=steps)
    return Trainer(run, graphdef, data, optimizer=keep_zeros(make_optimizer(run.train)), mesh=mesh)


def finetune(trainer: Trainer, model: nnx.Module, seed: int = 0) -> tuple[nnx.Module, list[float]]:
    """Train `model` for the trainer's `max_iters` steps (batches from `seed`); return the
    fine-tuned model, whose zero prunable weights are still zero, and each step's training loss."""
    params = jax.tree.map(jnp.copy, nnx.state(model, nnx.Param))   # the step donates its input
    state = trainer.place(TrainState(params, trainer.optimizer.init(params), jnp.zeros((), jnp.int32),
                                     jax.random.key_data(jax.random.key(seed))))
    state, metrics = trainer.run_steps(state, trainer.train_Z, trainer.recipe.max_iters)
    return trainer.model(state.params), [float(x) for x in np.asarray(metrics["loss"])]
