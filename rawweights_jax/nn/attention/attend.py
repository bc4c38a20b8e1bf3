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
  that recomputes the probabilities block by block (memory linear in T; see `nn/attention/blockwise.py`).
- `pallas`: a flash-attention kernel written in Pallas (see `nn/attention/pallas.py`).
- `auto`: the fastest correct choice for the platform and shape.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from rawweights_jax.nn.attention.blockwise import blockwise_attention
from rawweights_jax.nn.attention.mask import Mask
from rawweights_jax.nn.attention.naive import attend_naive
from rawweights_jax.nn.attention.pallas import pallas_attention
from rawweights_jax.nn.attention.xla import attend_xla

BACKENDS = {"naive": attend_naive, "xla": attend_xla,
            "blockwise": blockwise_attention, "pallas": pallas_attention}
"""Every concrete backend, by name; each has the signature attend(q_BTNH, k_BSKH, v_BSKH, mask)."""


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
