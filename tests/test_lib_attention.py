"""Every attention backend equals the naive reference, in values and in gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rawweights_jax.nn.attention.mask import EMPTY, Mask, causal_mask
from rawweights_jax.nn.attention.attend import attend, resolve_backend
from rawweights_jax.nn.attention.blockwise import blockwise_attention

BACKENDS = ["xla", "blockwise", "pallas"]


def _qkv(B, T, S, N, K, H, seed=0):
    k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
    return (jax.random.normal(k1, (B, T, N, H)), jax.random.normal(k2, (B, S, K, H)),
            jax.random.normal(k3, (B, S, K, H)))


def _check(backend, q, k, v, mask, **kw):
    fn = (lambda q, k, v: blockwise_attention(q, k, v, mask, **kw)) if kw else (
        lambda q, k, v: attend(q, k, v, mask, backend))
    ref = lambda q, k, v: attend(q, k, v, mask, "naive")
    w = jax.random.normal(jax.random.key(9), q.shape)       # a loss that weighs every output

    @jax.jit
    def values_and_grads(q, k, v):
        loss = lambda f: lambda q, k, v: jnp.sum(f(q, k, v) * w)
        return (fn(q, k, v), ref(q, k, v), jax.grad(loss(fn), argnums=(0, 1, 2))(q, k, v),
                jax.grad(loss(ref), argnums=(0, 1, 2))(q, k, v))

    out, want_out, got, want = values_and_grads(q, k, v)
    np.testing.assert_allclose(out, want_out, atol=2e-5, rtol=1e-5)
    for g, r, name in zip(got, want, "qkv"):
        np.testing.assert_allclose(g, r, atol=5e-5, rtol=1e-4, err_msg=f"d{name}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("T, N, K", [(1, 4, 4), (17, 4, 2), (40, 6, 1)])
def test_causal_training_shapes(backend, T, N, K):
    q, k, v = _qkv(2, T, T, N, K, 8, seed=T)
    _check(backend, q, k, v, causal_mask(2, T))


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_query_against_a_long_partly_filled_cache(backend):
    B, S, N, K, H = 2, 96, 4, 2, 16
    q, k, v = _qkv(B, 1, S, N, K, H)
    filled = jnp.array([70, 33])                              # rows hold different lengths
    k_pos = jnp.where(jnp.arange(S)[None] < filled[:, None], jnp.arange(S)[None], EMPTY)
    _check(backend, q, k, v, Mask((filled - 1)[:, None].astype(jnp.int32), k_pos.astype(jnp.int32)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_sliding_window_and_padding(backend):
    B, T = 2, 24
    q, k, v = _qkv(B, T, T, 4, 2, 8)
    pos = jnp.broadcast_to(jnp.arange(T, dtype=jnp.int32), (B, T))
    pos = pos.at[1, :5].set(EMPTY)                           # left padding in row 1
    q_pos = jnp.where(pos == EMPTY, -1, pos)
    _check(backend, q, k, v, Mask(q_pos, pos, window=7))


def test_rows_that_see_nothing_are_zero_in_every_backend():
    q, k, v = _qkv(1, 3, 5, 2, 2, 4)
    mask = Mask(jnp.full((1, 3), -1, jnp.int32), jnp.zeros((1, 5), jnp.int32))
    for backend in ["naive", *BACKENDS]:
        assert float(jnp.abs(attend(q, k, v, mask, backend)).max()) == 0.0, backend


@pytest.mark.parametrize("block", [1, 7, 128])
def test_blockwise_any_block_size(block):
    q, k, v = _qkv(1, 50, 50, 4, 4, 8)
    _check("blockwise", q, k, v, causal_mask(1, 50), block=block)


def test_backend_names():
    assert resolve_backend("auto", "gpu") == "xla" and resolve_backend("auto", "cpu") == "naive"
    assert resolve_backend("blockwise") == "blockwise"
    with pytest.raises(ValueError, match="unknown attention backend 'flash'"):
        resolve_backend("flash")
    q, k, v = _qkv(1, 4, 4, 3, 2, 4)
    with pytest.raises(ValueError, match="multiple of key/value heads"):
        attend(q, k, v, causal_mask(1, 4))
