"""What a trainer watches besides the loss: per-layer gradient norms, update-to-weight ratios,
the largest attention logit, and loss spikes.

A run that is about to go wrong usually says so first in one of these. A layer whose gradient
norm climbs away from the others, an update that moves a layer by more than about 1e-2 of its
size per step, or attention logits that keep growing (Wortsman et al. 2023, "Small-scale
proxies for large-scale Transformer training instabilities": at high learning rates the
logits grow until the softmax saturates to one key and training stalls or diverges) are
visible long before the loss spikes. The norms are cheap next to a training step (one pass
over the weights), so the step computes them every time and the loop records them at its
log and eval points (train/loop.py); the attention logit takes one extra forward pass on a
fixed batch, at evaluations only.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from rawweights_jax.core.names import path_parts
from rawweights_jax.model.gpt import GPT
from rawweights_jax.model.trace import trace


def group_of(path) -> str:
    """The layer a weight belongs to: `blocks.3` for anything in block 3, else its own
    top-level name (`wte_VD`, `wpe_TD`, `norm_out`, `lm_head_DV`)."""
    parts = path_parts(path)
    return f"blocks.{parts[1]}" if parts[0] == "blocks" else parts[0]


def group_names(params) -> list[str]:
    """The layers of `params`, in the order of their first weight."""
    names = [group_of(p) for p, _ in jax.tree_util.tree_leaves_with_path(params)]
    return list(dict.fromkeys(names))


# --8<-- [start:norms]
def group_norms(tree) -> jax.Array:
    """[G]: the L2 norm of each layer's part of `tree` (gradients, updates or weights), in the
    order of `group_names`."""
    squares: dict[str, jax.Array] = {}
    for path, x in jax.tree_util.tree_leaves_with_path(tree):
        g = group_of(path)
        squares[g] = squares.get(g, 0.0) + jnp.sum(jnp.square(x.astype(jnp.float32)))
    return jnp.sqrt(jnp.stack(list(squares.values())))


def update_ratios(updates, params) -> jax.Array:
    """[G]: |update| / |weights| per layer: the fraction by which one step moves a layer."""
    return group_norms(updates) / jnp.maximum(group_norms(params), 1e-12)
# --8<-- [end:norms]


def max_attention_logit(model: GPT, tokens_BT) -> jax.Array:
    """[L]: each layer's largest attention logit on `tokens_BT` (model/trace.py)."""
    return trace(model, tokens_BT).max_logit_L


# --8<-- [start:spikes]
def is_spike(previous_losses, loss: float, factor: float, window: int) -> bool:
    """Whether `loss` is above `factor` x the median of the last `window` losses before it
    (a median, so one earlier spike does not raise the bar). Too little history: no spike."""
    recent = previous_losses[-window:]
    return len(recent) >= min(window, 10) and loss > factor * float(np.median(recent))
# --8<-- [end:spikes]
