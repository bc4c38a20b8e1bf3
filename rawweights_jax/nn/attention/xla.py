"""The XLA backend: `jax.nn.dot_product_attention`, which reaches cuDNN's flash attention on
NVIDIA GPUs and a fused softmax elsewhere."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from rawweights_jax.nn.attention.mask import Mask


def attend_xla(q_BTNH, k_BSKH, v_BSKH, mask: Mask):
    """`jax.nn.dot_product_attention`: XLA's fused attention (cuDNN flash attention on GPU)."""
    ok_BTS = mask.dense()
    out_BTNH = jax.nn.dot_product_attention(q_BTNH, k_BSKH, v_BSKH, mask=ok_BTS[:, None])
    # A row that sees no key at all (padding) is defined as zeros, as in the other backends.
    return jnp.where(ok_BTS.any(-1)[:, :, None, None], out_BTNH, 0).astype(q_BTNH.dtype)
