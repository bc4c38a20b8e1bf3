"""Blockwise attention: the flash-attention idea in pure JAX, memory linear in sequence length.

Naive attention materialises a T x S matrix of scores per head: at T = 8192 that is 256 MiB
per head in float32, and the backward pass keeps it. The *online softmax* avoids it. Walk over
the keys one block at a time, keeping for every query only three running values: the largest
score seen so far `m`, the sum of exponentials `l` (relative to `m`), and the weighted sum of
values `acc`. When a new block raises the maximum, rescale the old sums by exp(m_old - m_new).
At the end, out = acc / l: exactly softmax(scores) v, without ever holding more than a T x block
tile of scores.

The backward pass is written by hand (`jax.custom_vjp`) for the same reason. Left to autodiff,
`lax.scan` would store every block's probabilities for the backward pass, and memory would be
quadratic again. Instead the forward pass saves only the output and the log-sum-exp of each
row, and the backward pass walks the key blocks again, recomputing each tile of probabilities
from them: dv = p^T do, dp = do v^T, ds = p * (dp - rowsum(do * out)), dq += ds k, dk = ds^T q.

It runs on any backend (CPU, GPU, TPU) because it is only einsums and a scan.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from rawweights_jax.nn.attention.mask import EMPTY, NEG_INF, Mask

DEFAULT_BLOCK = 256


def _pad_keys(k_BSKH, v_BSKH, k_pos_BS, block):
    """Pad the key axis to a multiple of the block; padding slots are EMPTY (never seen)."""
    S = k_BSKH.shape[1]
    pad = -S % block
    if pad:
        widths = ((0, 0), (0, pad), (0, 0), (0, 0))
        k_BSKH, v_BSKH = jnp.pad(k_BSKH, widths), jnp.pad(v_BSKH, widths)
        k_pos_BS = jnp.pad(k_pos_BS, ((0, 0), (0, pad)), constant_values=EMPTY)
    return k_BSKH, v_BSKH, k_pos_BS


def _key_blocks(k_BSKH, v_BSKH, k_pos_BS, block):
    """Reshape keys into [n_blocks, B, block, ...] so `lax.scan` walks the blocks."""
    B, S, K, H = k_BSKH.shape
    n = S // block
    to_blocks = lambda x: jnp.moveaxis(x.reshape(B, n, block, *x.shape[2:]), 1, 0)
    return to_blocks(k_BSKH), to_blocks(v_BSKH), to_blocks(k_pos_BS)


def _forward(q_BTNH, k_BSKH, v_BSKH, mask: Mask, block: int):
    B, T, N, H = q_BTNH.shape
    K = k_BSKH.shape[2]
    G = N // K
    scale = 1.0 / np.sqrt(H)
    q_BTKGH = q_BTNH.reshape(B, T, K, G, H)
    k_BSKH, v_BSKH, k_pos_BS = _pad_keys(k_BSKH, v_BSKH, mask.k_pos_BS, block)
    blocks = _key_blocks(k_BSKH, v_BSKH, k_pos_BS, block)

    # --8<-- [start:online_softmax]
    def step(carry, blk):
        m_BKGT, l_BKGT, acc_BTKGH = carry
        k_BSKH, v_BSKH, k_pos_BS = blk           # one block of S keys
        s_BKGTS = jnp.einsum("btkgh,bskh->bkgts", q_BTKGH, k_BSKH,
                             preferred_element_type=jnp.float32) * scale
        ok_B11TS = mask.visible(mask.q_pos_BT, k_pos_BS)[:, None, None]
        s_BKGTS = jnp.where(ok_B11TS, s_BKGTS, NEG_INF)
        m_new_BKGT = jnp.maximum(m_BKGT, s_BKGTS.max(-1))
        p_BKGTS = jnp.where(ok_B11TS, jnp.exp(s_BKGTS - m_new_BKGT[..., None]), 0.0)
        rescale_BKGT = jnp.exp(m_BKGT - m_new_BKGT)   # shrink old sums if the max grew
        l_BKGT = l_BKGT * rescale_BKGT + p_BKGTS.sum(-1)
        acc_BTKGH = acc_BTKGH * jnp.moveaxis(rescale_BKGT, 3, 1)[..., None] + jnp.einsum(
            "bkgts,bskh->btkgh", p_BKGTS.astype(v_BSKH.dtype), v_BSKH,
            preferred_element_type=jnp.float32)
        return (m_new_BKGT, l_BKGT, acc_BTKGH), None

    init = (jnp.full((B, K, G, T), NEG_INF, jnp.float32), jnp.zeros((B, K, G, T), jnp.float32),
            jnp.zeros((B, T, K, G, H), jnp.float32))
    (m_BKGT, l_BKGT, acc_BTKGH), _ = jax.lax.scan(step, init, blocks)
    seen_BKGT = l_BKGT > 0                              # rows with no visible key give zeros
    out_BTKGH = acc_BTKGH / jnp.moveaxis(jnp.where(seen_BKGT, l_BKGT, 1.0), 3, 1)[..., None]
    # --8<-- [end:online_softmax]
    lse_BKGT = jnp.where(seen_BKGT, m_BKGT + jnp.log(jnp.where(seen_BKGT, l_BKGT, 1.0)), 0.0)
    return out_BTKGH.reshape(B, T, N, H).astype(q_BTNH.dtype), lse_BKGT


def _backward(q_BTNH, k_BSKH, v_BSKH, mask: Mask, out_BTNH, lse_BKGT, dout_BTNH, block: int):
    """Gradients of blockwise attention, recomputing each tile of probabilities (see module doc)."""
    B, T, N, H = q_BTNH.shape
    S, K = k_BSKH.shape[1], k_BSKH.shape[2]
    G = N // K
    scale = 1.0 / np.sqrt(H)
    f32 = jnp.float32
    q_BTKGH = q_BTNH.reshape(B, T, K, G, H).astype(f32)
    do_BTKGH = dout_BTNH.reshape(B, T, K, G, H).astype(f32)
    delta_BKGT = jnp.einsum("btkgh,btkgh->bkgt", do_BTKGH, out_BTNH.reshape(B, T, K, G, H).astype(f32))
    kp, vp, k_pos_BS = _pad_keys(k_BSKH, v_BSKH, mask.k_pos_BS, block)
    blocks = _key_blocks(kp, vp, k_pos_BS, block)

    def step(dq_BTKGH, blk):
        k_BSKH, v_BSKH, k_pos_BS = blk
        k_BSKH, v_BSKH = k_BSKH.astype(f32), v_BSKH.astype(f32)
        s_BKGTS = jnp.einsum("btkgh,bskh->bkgts", q_BTKGH, k_BSKH) * scale
        ok_B11TS = mask.visible(mask.q_pos_BT, k_pos_BS)[:, None, None]
        p_BKGTS = jnp.where(ok_B11TS, jnp.exp(s_BKGTS - lse_BKGT[..., None]), 0.0)
        dv_BSKH = jnp.einsum("bkgts,btkgh->bskh", p_BKGTS, do_BTKGH)
        dp_BKGTS = jnp.einsum("btkgh,bskh->bkgts", do_BTKGH, v_BSKH)
        ds_BKGTS = p_BKGTS * (dp_BKGTS - delta_BKGT[..., None]) * scale
        dq_BTKGH = dq_BTKGH + jnp.einsum("bkgts,bskh->btkgh", ds_BKGTS, k_BSKH)
        dk_BSKH = jnp.einsum("bkgts,btkgh->bskh", ds_BKGTS, q_BTKGH)
        return dq_BTKGH, (dk_BSKH, dv_BSKH)

    dq_BTKGH, (dk_nBSKH, dv_nBSKH) = jax.lax.scan(
        step, jnp.zeros((B, T, K, G, H), f32), blocks)
    from_blocks = lambda x: jnp.moveaxis(x, 0, 1).reshape(B, -1, K, H)[:, :S]
    return (dq_BTKGH.reshape(B, T, N, H).astype(q_BTNH.dtype),
            from_blocks(dk_nBSKH).astype(k_BSKH.dtype), from_blocks(dv_nBSKH).astype(v_BSKH.dtype))


@functools.partial(jax.custom_vjp, nondiff_argnums=(4,))
def _blockwise(q_BTNH, k_BSKH, v_BSKH, mask, block):
    return _forward(q_BTNH, k_BSKH, v_BSKH, mask, block)[0]


def _blockwise_fwd(q_BTNH, k_BSKH, v_BSKH, mask, block):
    out_BTNH, lse_BKGT = _forward(q_BTNH, k_BSKH, v_BSKH, mask, block)
    return out_BTNH, (q_BTNH, k_BSKH, v_BSKH, mask, out_BTNH, lse_BKGT)


def _blockwise_bwd(block, residuals, dout_BTNH):
    q_BTNH, k_BSKH, v_BSKH, mask, out_BTNH, lse_BKGT = residuals
    dq, dk, dv = _backward(q_BTNH, k_BSKH, v_BSKH, mask, out_BTNH, lse_BKGT, dout_BTNH, block)
    return dq, dk, dv, zero_mask_cotangent(mask)


def zero_mask_cotangent(mask: Mask) -> Mask:
    """Integer positions have no gradient: JAX wants float0 zeros in their place."""
    float0 = lambda x: np.zeros(x.shape, dtype=jax.dtypes.float0)
    return Mask(float0(mask.q_pos_BT), float0(mask.k_pos_BS), mask.window)


_blockwise.defvjp(_blockwise_fwd, _blockwise_bwd)


def blockwise_attention(q_BTNH, k_BSKH, v_BSKH, mask: Mask, block: int = DEFAULT_BLOCK):
    """Attention over key blocks of `block` slots with online softmax; memory O(T * block)."""
    block = min(block, k_BSKH.shape[1])
    return _blockwise(q_BTNH, k_BSKH, v_BSKH, mask, block)


def blockwise_forward_with_lse(q_BTNH, k_BSKH, v_BSKH, mask: Mask, block: int = DEFAULT_BLOCK):
    """Output and per-row log-sum-exp [B, K, G, T] (shared with the Pallas kernel's backward)."""
    return _forward(q_BTNH, k_BSKH, v_BSKH, mask, min(block, k_BSKH.shape[1]))


def blockwise_backward(q_BTNH, k_BSKH, v_BSKH, mask, out_BTNH, lse_BKGT, dout_BTNH,
                       block: int = DEFAULT_BLOCK):
    """Gradients (dq, dk, dv) from the saved output and log-sum-exp."""
    return _backward(q_BTNH, k_BSKH, v_BSKH, mask, out_BTNH, lse_BKGT, dout_BTNH,
                     min(block, k_BSKH.shape[1]))
