"""The teacher's score: the mean cross-entropy of the model's next-token guesses; and the
z-loss, a small extra term that keeps the logits' normaliser near 1."""

from __future__ import annotations

import jax
import jax.numpy as jnp


# --8<-- [start:loss]
def cross_entropy(logits_BTV, targets_BT):
    """Mean negative log-probability of the right next token: the teacher's score."""
    logprobs_BTV = jax.nn.log_softmax(logits_BTV.astype(jnp.float32), axis=-1)
    return -jnp.take_along_axis(logprobs_BTV, targets_BT[..., None], axis=-1).mean()
# --8<-- [end:loss]


# --8<-- [start:z_loss]
def z_loss(logits_BTV):
    """PaLM's z-loss (Chowdhery et al. 2022): mean (log Z)^2, Z the softmax's normaliser.
    Cross-entropy does not care where the logits sit (adding a constant changes nothing); this
    term pulls log Z towards 0, so the logits cannot drift to magnitudes where float rounding
    and the softmax's gradients go wrong."""
    log_z_BT = jax.nn.logsumexp(logits_BTV.astype(jnp.float32), axis=-1)
    return jnp.mean(log_z_BT ** 2)
# --8<-- [end:z_loss]
