"""The teacher's score: the mean cross-entropy of the model's next-token guesses."""

from __future__ import annotations

import jax
import jax.numpy as jnp


# --8<-- [start:loss]
def cross_entropy(logits_BTV, targets_BT):
    """Mean negative log-probability of the right next token: the teacher's score."""
    logprobs_BTV = jax.nn.log_softmax(logits_BTV.astype(jnp.float32), axis=-1)
    return -jnp.take_along_axis(logprobs_BTV, targets_BT[..., None], axis=-1).mean()
# --8<-- [end:loss]
