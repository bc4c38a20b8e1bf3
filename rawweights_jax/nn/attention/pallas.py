"""Flash attention as a Pallas kernel: the online softmax of blockwise.py, written per tile.

Pallas lets one write the body of a GPU/TPU kernel in JAX: each program instance of the
grid (here: one batch row, one query head, one block of `block_q` queries) reads its tile of
queries, walks the keys in blocks of `block_k` held in fast memory, and writes its tile of
outputs plus the log-sum-exp of each row. No T x S matrix ever exists, in fast memory or slow.

On a GPU the kernel is compiled (through Triton); on a CPU it runs in interpret mode, which
executes the same program with ordinary JAX operations: slow, but it is how the tests check
the kernel everywhere. The backward pass reuses blockwise.py's, which recomputes the
probabilities from the saved log-sum-exp (the FlashAttention-2 recipe), in pure JAX.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import pallas as pl

from rawweights_jax.nn.attention.mask import EMPTY, NEG_INF, Mask
from rawweights_jax.nn.attention.blockwise import blockwise_backward, zero_mask_cotangent


# --8<-- [start:kernel]
def _flash_kernel(q_pos_ref, k_pos_ref, q_ref, k_ref, v_ref, o_ref, lse_ref, *,
                  block_k: int, n_blocks: int, window: int | None, scale: float):
    """One (row, head, query block): online softmax over the key blocks."""
    q_TH = q_ref[...].astype(jnp.float32) * scale
    q_pos_T = q_pos_ref[...]

    def body(j, carry):
        m_T, l_T, acc_TH = carry
        keys = pl.ds(j * block_k, block_k)
        k_SH, v_SH, k_pos_S = k_ref[keys, :].astype(jnp.float32), v_ref[keys, :], k_pos_ref[keys]
        s_TS = jnp.dot(q_TH, k_SH.T)
        ok_TS = k_pos_S[None, :] <= q_pos_T[:, None]
        if window is not None:
            ok_TS &= q_pos_T[:, None] - k_pos_S[None, :] < window
        s_TS = jnp.where(ok_TS, s_TS, NEG_INF)
        m_new_T = jnp.maximum(m_T, s_TS.max(axis=1))
        p_TS = jnp.where(ok_TS, jnp.exp(s_TS - m_new_T[:, None]), 0.0)
        rescale_T = jnp.exp(m_T - m_new_T)
        acc_TH = acc_TH * rescale_T[:, None] + jnp.dot(p_TS, v_SH.astype(jnp.float32))
        return m_new_T, l_T * rescale_T + p_TS.sum(axis=1), acc_TH

    T, H = q_TH.shape
    init = (jnp.full((T,), NEG_INF, jnp.float32), jnp.zeros((T,), jnp.float32),
            jnp.zeros((T, H), jnp.float32))
    m_T, l_T, acc_TH = jax.lax.fori_loop(0, n_blocks, body, init)
    seen_T = l_T > 0
    o_ref[...] = (acc_TH / jnp.where(seen_T, l_T, 1.0)[:, None]).astype(o_ref.dtype)
    lse_ref[...] = jnp.where(seen_T, m_T + jnp.log(jnp.where(seen_T, l_T, 1.0)), 0.0)
# --8<-- [end:kernel]


def _round_up(x: int, m: int) -> int:
    return -(-x // m) * m


def _forward(q_BTNH, k_BSKH, v_BSKH, mask: Mask, block_q: int, block_k: int):
    B, T, N, H = q_BTNH.shape
    S, K = k_BSKH.shape[1], k_BSKH.shape[2]
    G = N // K
    Tp, Sp = _round_up(T, block_q), _round_up(S, block_k)
    # pad to whole tiles: padding queries see nothing, padding keys are EMPTY
    q = jnp.pad(q_BTNH, ((0, 0), (0, Tp - T), (0, 0), (0, 0)))
    k = jnp.pad(k_BSKH, ((0, 0), (0, Sp - S), (0, 0), (0, 0)))
    v = jnp.pad(v_BSKH, ((0, 0), (0, Sp - S), (0, 0), (0, 0)))
    q_pos = jnp.pad(mask.q_pos_BT, ((0, 0), (0, Tp - T)), constant_values=-1)
    k_pos = jnp.pad(mask.k_pos_BS, ((0, 0), (0, Sp - S)), constant_values=EMPTY)
    kernel = functools.partial(_flash_kernel, block_k=block_k, n_blocks=Sp // block_k,
                               window=mask.window, scale=1.0 / float(np.sqrt(H)))
    out, lse = pl.pallas_call(
        kernel,
        grid=(B, N, Tp // block_q),
        in_specs=[
            pl.BlockSpec((None, block_q), lambda b, n, i: (b, i)),                  # q_pos
            pl.BlockSpec((None, Sp), lambda b, n, i: (b, 0)),                       # k_pos
            pl.BlockSpec((None, block_q, None, H), lambda b, n, i: (b, i, n, 0)),   # q
            pl.BlockSpec((None, Sp, None, H), lambda b, n, i: (b, 0, n // G, 0)),   # k
            pl.BlockSpec((None, Sp, None, H), lambda b, n, i: (b, 0, n // G, 0)),   # v
        ],
        out_specs=[
            pl.BlockSpec((None, block_q, None, H), lambda b, n, i: (b, i, n, 0)),
            pl.BlockSpec((None, None, block_q), lambda b, n, i: (b, n, i)),
        ],
        out_shape=[jax.ShapeDtypeStruct((B, Tp, N, H), q_BTNH.dtype),
                   jax.ShapeDtypeStruct((B, N, Tp), jnp.float32)],
        interpret=jax.default_backend() == "cpu",
    )(q_pos, k_pos, q, k, v)
    lse_BKGT = lse[:, :, :T].reshape(B, K, G, T)     # head n = k * G + g, as in blockwise.py
    return out[:, :T], lse_BKGT


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5))
def _pallas(q_BTNH, k_BSKH, v_BSKH, mask, block_q, block_k):
    return _forward(q_BTNH, k_BSKH, v_BSKH, mask, block_q, block_k)[0]


def _pallas_fwd(q_BTNH, k_BSKH, v_BSKH, mask, block_q, block_k):
    out_BTNH, lse_BKGT = _forward(q_BTNH, k_BSKH, v_BSKH, mask, block_q, block_k)
    return out_BTNH, (q_BTNH, k_BSKH, v_BSKH, mask, out_BTNH, lse_BKGT)


def _pallas_bwd(block_q, block_k, residuals, dout_BTNH):
    q_BTNH, k_BSKH, v_BSKH, mask, out_BTNH, lse_BKGT = residuals
    dq, dk, dv = blockwise_backward(q_BTNH, k_BSKH, v_BSKH, mask, out_BTNH, lse_BKGT, dout_BTNH,
                                    block=block_k)
    return dq, dk, dv, zero_mask_cotangent(mask)


_pallas.defvjp(_pallas_fwd, _pallas_bwd)


def pallas_attention(q_BTNH, k_BSKH, v_BSKH, mask: Mask, block_q: int = 64, block_k: int = 64):
    """Flash attention in Pallas: tiles of `block_q` queries x `block_k` keys (powers of two)."""
    block_q = min(block_q, max(16, 1 << (q_BTNH.shape[1] - 1).bit_length()))
    block_k = min(block_k, max(16, 1 << (k_BSKH.shape[1] - 1).bit_length()))
    return _pallas(q_BTNH, k_BSKH, v_BSKH, mask, block_q, block_k)
