"""Batches: random windows of a token array sampled on the device (training), and evenly spaced
fixed windows (evaluation), as inputs and next-token targets.

The whole split lives on the device as one int32 array and a compiled function picks random
windows from it, so a training step never copies data from the host.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


# --8<-- [start:batch]
def sample_batch(data_Z: jax.Array, key: jax.Array, batch: int, length: int):
    """Random windows of `length + 1` tokens, taken on the device: inputs and next-token targets."""
    starts_B = jax.random.randint(key, (batch,), 0, data_Z.shape[0] - length)
    window = lambda s: jax.lax.dynamic_slice_in_dim(data_Z, s, length + 1)
    seq_BT1 = jax.vmap(window)(starts_B)
    return seq_BT1[:, :-1], seq_BT1[:, 1:]
# --8<-- [end:batch]


def spaced_windows(tokens_Z, length: int, count: int):
    """`count` windows of `length` tokens spread evenly over `tokens_Z` (the same ones on every
    call: a fixed evaluation set), as inputs and next-token targets [count, length]."""
    tokens_Z = np.asarray(tokens_Z)
    if len(tokens_Z) <= length:
        raise ValueError(f"{len(tokens_Z)} tokens cannot hold a window of {length} + 1")
    starts = np.linspace(0, len(tokens_Z) - length - 1, count).astype(int)
    windows = np.stack([tokens_Z[s:s + length + 1] for s in starts])
    return jnp.asarray(windows[:, :-1]), jnp.asarray(windows[:, 1:])
