"""Which keys a query may see, described by positions rather than by a T x S matrix.

Every query and every key slot carries its absolute position. A query sees a key that is not
in its future (and, with a sliding window, not too far in its past). Empty or padding key slots
hold the position `EMPTY`, larger than any query position, so the same rule hides them, and
block-wise backends build only the tile of the mask they need.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp

from rawweights_jax.kvcache.cache import EMPTY  # noqa: F401  (re-exported: masks hide EMPTY slots)

NEG_INF = -1e30
"""Score of a masked key. Finite, so a fully masked row gives zeros instead of NaN."""


# --8<-- [start:mask]
@functools.partial(jax.tree_util.register_dataclass,
                   data_fields=["q_pos_BT", "k_pos_BS"], meta_fields=["window"])
@dataclasses.dataclass(frozen=True)
class Mask:
    """Which keys each query may attend to, described by positions.

    Query t of row b sees key s when  k_pos[b, s] <= q_pos[b, t]  (causal: not the future)
    and, if `window` is set,  q_pos[b, t] - k_pos[b, s] < window  (sliding window).
    """

    q_pos_BT: jax.Array   # int32 absolute position of each query
    k_pos_BS: jax.Array   # int32 absolute position of each key slot; EMPTY where unused
    window: int | None = None

    def visible(self, q_pos_BT: jax.Array, k_pos_BS: jax.Array) -> jax.Array:
        """Boolean [B, T, S] tile of the mask for the given query and key positions."""
        q_BT1, k_B1S = q_pos_BT[:, :, None], k_pos_BS[:, None, :]
        ok_BTS = k_B1S <= q_BT1
        if self.window is not None:
            ok_BTS &= q_BT1 - k_B1S < self.window
        return ok_BTS

    def dense(self) -> jax.Array:
        """The full boolean [B, T, S] mask (what the block-free backends use)."""
        return self.visible(self.q_pos_BT, self.k_pos_BS)
# --8<-- [end:mask]


def causal_mask(batch: int, length: int, window: int | None = None) -> Mask:
    """The plain causal mask of a training batch: positions 0..length-1 for queries and keys."""
    pos_BT = jnp.broadcast_to(jnp.arange(length, dtype=jnp.int32), (batch, length))
    return Mask(pos_BT, pos_BT, window)
