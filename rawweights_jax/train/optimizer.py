"""How the weights move: AdamW with global-norm clipping, decay on matrices only, and the
learning-rate schedule (linear warm-up, cosine decay, then flat)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import optax

from rawweights_jax.config import TrainConfig
from rawweights_jax.core.names import is_matrix


# --8<-- [start:schedule]
def learning_rate(cfg: TrainConfig, step):
    """Linear warm-up to `lr`, cosine decay to `min_lr` at `lr_decay_iters`, then flat."""
    step = jnp.asarray(step, jnp.float32)
    warm = cfg.lr * (step + 1) / (cfg.warmup_iters + 1)
    progress = jnp.clip((step - cfg.warmup_iters) / max(cfg.lr_decay_iters - cfg.warmup_iters, 1), 0, 1)
    cosine = cfg.min_lr + 0.5 * (1 + jnp.cos(jnp.pi * progress)) * (cfg.lr - cfg.min_lr)
    return jnp.where(step < cfg.warmup_iters, warm, cosine)
# --8<-- [end:schedule]


# --8<-- [start:optimizer]
def make_optimizer(cfg: TrainConfig) -> optax.GradientTransformation:
    """AdamW with global-norm clipping; weight decay on matrices only (not biases or norms)."""
    decay_mask = lambda params: jax.tree_util.tree_map_with_path(
        lambda path, _: is_matrix(path), params)
    adamw = optax.adamw(functools.partial(learning_rate, cfg), b1=cfg.beta1, b2=cfg.beta2,
                        eps=1e-8, weight_decay=cfg.weight_decay, mask=decay_mask)
    if cfg.grad_clip > 0:
        return optax.chain(optax.clip_by_global_norm(cfg.grad_clip), adamw)
    return adamw
# --8<-- [end:optimizer]
