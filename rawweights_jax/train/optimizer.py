"""How the weights move: the learning-rate schedule (linear warm-up, then cosine decay,
warm-up-stable-decay, or constant) and the optimizer (AdamW, or Muon for the blocks'
matrices), with global-norm clipping and weight decay on matrices only.

Muon (Keller Jordan, 2024) replaces a matrix's momentum by the nearest semi-orthogonal matrix
(Newton-Schulz iterations): every direction of the update moves by the same amount. It is
defined for the matrices of products inside the network; its authors keep AdamW for the
embeddings, the output head and the vectors (norm scales, biases), which is what
`make_optimizer` does. optax's `contrib.muon` orthogonalises 2-D leaves only and sends the
rest to Adam; our weights carry more axes (`wqkv_DKJH`, `wo_NHD`), so `muon_dims` names, from
each weight's letters, which axes are its input and output and which stack separate matrices.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax
from optax.contrib import MuonDimensionNumbers

from rawweights_jax.config import TrainConfig
from rawweights_jax.core.names import is_matrix, leaf_name, path_parts

STACKED = "EJ"      # experts, and the q/k/v index of a fused projection: separate matrices


# --8<-- [start:schedule]
def learning_rate(cfg: TrainConfig, step):
    """Linear warm-up to `lr`, then the recipe's schedule: cosine to `min_lr` at
    `lr_decay_iters`; wsd: flat at `lr`, then linear to `min_lr` over the last `decay_frac` of
    `lr_decay_iters`; constant: flat at `lr`. After `lr_decay_iters`, flat at `min_lr`."""
    step = jnp.asarray(step, jnp.float32)
    warm = cfg.lr * (step + 1) / (cfg.warmup_iters + 1)
    progress = jnp.clip((step - cfg.warmup_iters) / max(cfg.lr_decay_iters - cfg.warmup_iters, 1), 0, 1)
    if cfg.schedule == "cosine":
        after = cfg.min_lr + 0.5 * (1 + jnp.cos(jnp.pi * progress)) * (cfg.lr - cfg.min_lr)
    elif cfg.schedule == "wsd":
        decay_start = cfg.lr_decay_iters * (1 - cfg.decay_frac)
        frac = jnp.clip((step - decay_start) / (cfg.lr_decay_iters - decay_start), 0, 1)
        after = cfg.lr + frac * (cfg.min_lr - cfg.lr)
    else:
        after = jnp.full_like(step, cfg.lr)
    return jnp.where(step < cfg.warmup_iters, warm, after)
# --8<-- [end:schedule]


def muon_dims(path, x) -> MuonDimensionNumbers | None:
    """Which axes of the weight at `path` are a matrix's input and output for Muon, or None
    for a weight AdamW moves: anything outside the blocks (embeddings, the head), vectors, and
    weights whose letters do not say (no D at either end). Stacked axes (E experts, J = q/k/v)
    are batch axes: each slice is orthogonalised on its own."""
    parts, leaf = path_parts(path), leaf_name(path)
    if "blocks" not in parts or not is_matrix(path) or x.ndim < 2 or "_" not in leaf:
        return None
    letters = leaf.rsplit("_", 1)[1]
    if len(letters) != x.ndim:
        return None
    free = [i for i, c in enumerate(letters) if c not in STACKED]
    if letters[0] == "D":          # reads the stream: D in, the rest out (wqkv_DKJH, w_in_DF)
        reduction, output = (0,), tuple(i for i in free if i != 0)
    elif letters[-1] == "D":       # writes the stream: the rest in, D out (wo_NHD, w_out_FD)
        reduction, output = tuple(i for i in free if i != x.ndim - 1), (x.ndim - 1,)
    else:
        return None
    if not reduction or not output:    # a router (w_DE): its outputs are experts, not a matrix
        return None
    return MuonDimensionNumbers(reduction, output)


# --8<-- [start:optimizer]
def make_optimizer(cfg: TrainConfig) -> optax.GradientTransformation:
    """The recipe's optimizer with global-norm clipping; weight decay on matrices only (not
    biases or norms). AdamW everywhere, or Muon for the blocks' matrices and AdamW elsewhere."""
    schedule = functools.partial(learning_rate, cfg)
    decay_mask = lambda params: jax.tree_util.tree_map_with_path(
        lambda path, _: is_matrix(path), params)
    adamw = optax.adamw(schedule, b1=cfg.beta1, b2=cfg.beta2, eps=1e-8,
                        weight_decay=cfg.weight_decay, mask=decay_mask)
    if cfg.optimizer == "muon":
        is_muon = lambda path, x: muon_dims(path, x) is not None
        dims = lambda params: jax.tree_util.tree_map_with_path(muon_dims, params)
        # optax scales the decay by the learning rate, as AdamW does: the same decoupled decay
        muon = optax.contrib.muon(lambda step: schedule(step) * (cfg.muon_lr / cfg.lr),
                                  beta=0.95, weight_decay=cfg.weight_decay,
                                  muon_weight_dimension_numbers=dims)
        labels = lambda params: jax.tree_util.tree_map_with_path(
            lambda path, x: "muon" if is_muon(path, x) else "adamw", params)
        update = optax.partition({"muon": muon, "adamw": adamw}, labels)
    else:
        update = adamw
    if cfg.grad_clip > 0:
        return optax.chain(optax.clip_by_global_norm(cfg.grad_clip), update)
    return update
# --8<-- [end:optimizer]
