"""The model: causal (a later token never changes an earlier prediction), cache equals recompute."""

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from hypothesis import given, settings
from hypothesis import strategies as st

from _lib_support import tiny_model
from rawweights_jax.kvcache.cache import KVCache
from rawweights_jax.model.gpt import count_params, init_model

CFG = tiny_model(n_kv_heads=2, bias=True)
MODEL = init_model(CFG)
FORWARD = jax.jit(lambda t: MODEL(t))
_GRAPH, _PARAMS = nnx.split(MODEL)
_STEP = jax.jit(lambda params, tokens, cache, valid: nnx.merge(_GRAPH, params).step(tokens, cache, valid))
STEP = lambda tokens, cache, valid=None: _STEP(_PARAMS, tokens, cache, valid)


@settings(max_examples=25, deadline=None)
@given(tokens=st.lists(st.integers(0, CFG.vocab_size - 1), min_size=2, max_size=CFG.context_len),
       data=st.data())
def test_changing_a_token_never_changes_earlier_logits(tokens, data):
    T = CFG.context_len
    at = data.draw(st.integers(0, len(tokens) - 1), label="changed position")
    new = data.draw(st.integers(0, CFG.vocab_size - 1).filter(lambda t: t != tokens[at]), label="new token")
    before = np.array(tokens + [0] * (T - len(tokens)))[None]
    after = before.copy()
    after[0, at] = new
    l0, l1 = np.asarray(FORWARD(jnp.asarray(before))), np.asarray(FORWARD(jnp.asarray(after)))
    np.testing.assert_array_equal(l0[0, :at], l1[0, :at])      # exactly equal: the past is blind
    assert np.abs(l0[0, at:] - l1[0, at:]).max() > 0          # and the change is seen from `at` on


def test_step_by_step_decoding_equals_full_forward():
    tokens = jax.random.randint(jax.random.key(1), (2, CFG.context_len), 0, CFG.vocab_size)
    full = FORWARD(tokens)
    cache = KVCache.empty(CFG, 2, CFG.context_len)
    logits, cache = STEP(tokens[:, :5], cache)                   # prefill 5, then one at a time
    np.testing.assert_allclose(logits, full[:, :5], atol=1e-5)
    for t in range(5, CFG.context_len):
        logits, cache = STEP(tokens[:, t:t + 1], cache)
        np.testing.assert_allclose(logits[:, 0], full[:, t], atol=1e-5)
    assert int(cache.end) == CFG.context_len and cache.length_B.tolist() == [CFG.context_len] * 2


def test_left_padded_rows_equal_unpadded_rows():
    short, long = [3, 1, 4], [2, 7, 1, 8, 2, 8]
    tokens = jnp.array([[0, 0, 0] + short, long])
    valid = jnp.array([[False] * 3 + [True] * 3, [True] * 6])
    logits, cache = STEP(tokens, KVCache.empty(CFG, 2, CFG.context_len), valid)
    np.testing.assert_allclose(logits[0, 3:], FORWARD(jnp.array([short]))[0], atol=1e-5)
    np.testing.assert_allclose(logits[1], FORWARD(jnp.array([long]))[0], atol=1e-5)
    assert cache.length_B.tolist() == [3, 6]


def test_parameter_count_matches_the_shapes():
    D, F, V, T, L, H = CFG.d_model, CFG.d_ff, CFG.vocab_size, CFG.context_len, CFG.n_layers, CFG.head_dim
    N, K = CFG.n_heads, CFG.n_kv_heads
    attn = D * N * H * 2 + 2 * D * K * H + (N * H + 2 * K * H + D)   # q, o, k, v and biases
    mlp = 2 * D * F + F + D
    norms = 2 * 2 * D
    assert count_params(MODEL) == V * D + T * D + L * (attn + mlp + norms) + 2 * D


def test_dropout_is_random_only_with_a_key():
    model = init_model(tiny_model())
    tokens = jnp.zeros((1, 8), jnp.int32)
    np.testing.assert_array_equal(model(tokens), model(tokens))
    np.testing.assert_array_equal(model(tokens), model(tokens, dropout_rate=0.5))
    np.testing.assert_array_equal(model(tokens), model(tokens, dropout_key=jax.random.key(0)))
    a = model(tokens, dropout_key=jax.random.key(0), dropout_rate=0.5)
    b = model(tokens, dropout_key=jax.random.key(1), dropout_rate=0.5)
    assert np.abs(np.asarray(a - b)).max() > 0
