"""Attention: one signature, several backends, all tested against the readable reference.

Every backend computes the same thing,

    attend(q_BTNH, k_BSKH, v_BSKH, mask) -> out_BTNH

softmax(q k^T / sqrt(H)) v over the keys each query may see. N query heads share K key/value
heads in groups of G = N / K (K = N is classic multi-head attention, K = 1 multi-query).

The mask is not a T x S boolean matrix but the *positions* it comes from (`Mask`): the absolute
position of every query and of every key slot. A query sees a key when the key is not in its
future (and, with a sliding window, not too far in its past). Empty or padding key slots hold
the position `EMPTY`, larger than any query position, so the same rule hides them. Backends
that work block by block build only the tile of the mask they need, which is what keeps their
memory linear in the sequence length.

Backends:
- `naive`: einsum, masked softmax, einsum. The reference: short enough to read in one breath.
- `xla`: `jax.nn.dot_product_attention`, which uses cuDNN's flash attention on NVIDIA GPUs.
- `blockwise`: online softmax over key blocks in pure JAX, with a hand-written backward pass
  that recomputes the probabilities block by block (memory linear in T; see `blockwise.py`).
- `pallas`: a flash-attention kernel written in Pallas (see `pallas_attention.py`).
- `auto`: the fastest correct choice for the platform and shape.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp

EMPTY = jnp.iinfo(jnp.int32).max
"""Position stored in an empty (or padding) key slot: in every query's future, so never seen."""

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


def attend_xla(q_BTNH, k_BSKH, v_BSKH, mask: Mask):
    """`jax.nn.dot_product_attention`: XLA's fused attention (cuDNN flash attention on GPU)."""
    ok_BTS = mask.dense()
    out_BTNH = jax.nn.dot_product_attention(q_BTNH, k_BSKH, v_BSKH, mask=ok_BTS[:, None])
    # A row that sees no key at all (padding) is defined as zeros, as in the other backends.
    return jnp.where(ok_BTS.any(-1)[:, :, None, None], out_BTNH, 0).astype(q_BTNH.dtype)


def attend_blockwise(q_BTNH, k_BSKH, v_BSKH, mask: Mask):
    from rawweights_jax.blockwise import blockwise_attention
    return blockwise_attention(q_BTNH, k_BSKH, v_BSKH, mask)


def attend_pallas(q_BTNH, k_BSKH, v_BSKH, mask: Mask):
    from rawweights_jax.pallas_attention import pallas_attention
    return pallas_attention(q_BTNH, k_BSKH, v_BSKH, mask)


BACKENDS = {"naive": attend_naive, "xla": attend_xla,
            "blockwise": attend_blockwise, "pallas": attend_pallas}


def resolve_backend(name: str, platform: str | None = None) -> str:
    """The concrete backend behind a name; `auto` picks the fastest for the platform.

    On GPU, `xla` reaches cuDNN's flash attention. On TPU, the Pallas kernel. On CPU, the
    model's sequences are short (<= a few thousand) and XLA fuses the naive einsums well,
    so `naive` is fastest there (`rawweights bench attention` measures it); `blockwise` is the
    choice when memory, not speed, is the limit.
    """
    if name != "auto":
        if name not in BACKENDS:
            raise ValueError(f"unknown attention backend {name!r}: expected auto, "
                             + ", ".join(BACKENDS))
        return name
    platform = platform or jax.default_backend()
    return {"gpu": "xla", "cuda": "xla", "tpu": "pallas"}.get(platform, "naive")


# --8<-- [start:attend]
def attend(q_BTNH, k_BSKH, v_BSKH, mask: Mask, backend: str = "auto", scale: float | None = None):
    """softmax(scale * q k^T) v with the given mask, computed by the chosen backend.

    `scale` defaults to 1/sqrt(H). Backends all use that default, so another scale (Gemma's
    query_pre_attn_scalar, YaRN's sharper softmax) is folded into the queries. Values may be
    narrower or wider than queries and keys (multi-head latent attention): the narrower side
    is padded with zeros, which adds nothing to any score or output, and the output cut back.
    """
    N, K = q_BTNH.shape[2], k_BSKH.shape[2]
    if N % K:
        raise ValueError(f"query heads N={N} must be a multiple of key/value heads K={K}")
    Hq, Hv = q_BTNH.shape[-1], v_BSKH.shape[-1]
    width = max(Hq, Hv)
    factor = (1.0 / math.sqrt(Hq) if scale is None else scale) * math.sqrt(width)
    if factor != 1.0:
        q_BTNH = q_BTNH * jnp.asarray(factor, q_BTNH.dtype)
    pad = lambda x: x if x.shape[-1] == width else jnp.pad(
        x, [(0, 0)] * (x.ndim - 1) + [(0, width - x.shape[-1])])
    out_BTNH = BACKENDS[resolve_backend(backend)](pad(q_BTNH), pad(k_BSKH), pad(v_BSKH), mask)
    return out_BTNH[..., :Hv]
# --8<-- [end:attend]
