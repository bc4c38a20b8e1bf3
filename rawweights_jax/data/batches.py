"""Batches sampled on the device: random windows of a token array, inputs and next-token targets.

The whole split lives on the device as one int32 array and a compiled function picks random
windows from it, so a training step never copies data from the host.
"""

from __future__ import annotations

import jax


# --8<-- [start:batch]
def sample_batch(data_Z: jax.Array, key: jax.Array, batch: int, length: int):
    """Random windows of `length + 1` tokens, taken on the device: inputs and next-token targets."""
    starts_B = jax.random.randint(key, (batch,), 0, data_Z.shape[0] - length)
    window = lambda s: jax.lax.dynamic_slice_in_dim(data_Z, s, length + 1)
    seq_BT1 = jax.vmap(window)(starts_B)
    return seq_BT1[:, :-1], seq_BT1[:, 1:]
# --8<-- [end:batch]
