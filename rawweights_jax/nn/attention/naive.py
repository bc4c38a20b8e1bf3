"""The reference attention backend: einsum, masked softmax, einsum; short enough to read in one
breath. Every other backend is tested against it."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from rawweights_jax.nn.attention.mask import NEG_INF, Mask


# --8<-- [start:naive]
def attend_naive(q_BTNH, k_BSKH, v_BSKH, mask: Mask):
    """Reference attention: scores for every (query, key) pair, masked softmax, weighted sum."""
    G = q_BTNH.shape[2] // k_BSKH.shape[2]
    k_BSNH = jnp.repeat(k_BSKH, G, axis=2)       # each key/value head serves G query heads
    v_BSNH = jnp.repeat(v_BSKH, G, axis=2)
    scale = 1.0 / jnp.sqrt(q_BTNH.shape[-1]).astype(q_BTNH.dtype)
    scores_BNTS = jnp.einsum("btnh,bsnh->bnts", q_BTNH * scale, k_BSNH).astype(jnp.float32)
    ok_BTS = mask.dense()
    probs_BNTS = jax.nn.softmax(jnp.where(ok_BTS[:, None], scores_BNTS, NEG_INF), axis=-1)
    out_BTNH = jnp.einsum("bnts,bsnh->btnh", probs_BNTS.astype(v_BSNH.dtype), v_BSNH)
    return jnp.where(ok_BTS.any(-1)[:, :, None, None], out_BTNH, 0)  # a row seeing no key: zeros
# --8<-- [end:naive]
