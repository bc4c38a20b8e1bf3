"""Speculative decoding (inference/speculative.py): the target's output, the acceptance rule's
distribution, caches that roll back, and the errors a user can make."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from _lib_support import forward, tiny_model
from rawweights_jax.inference.generate import generate
from rawweights_jax.inference.speculative import accept, speculative_generate
from rawweights_jax.kvcache.cache import KVCache
from rawweights_jax.model.gpt import init_model

CTX = 48


@pytest.fixture(scope="module")
def pair():
    target = init_model(tiny_model(context_len=CTX, n_layers=2, d_model=32), seed=1)
    draft = init_model(tiny_model(context_len=CTX, n_layers=1, d_model=16, n_heads=2), seed=2)
    return target, draft


@pytest.mark.parametrize("k", [1, 3, 5])
def test_greedy_output_is_the_targets_own_token_for_token(pair, k):
    target, draft = pair
    prompt = [3, 7, 1, 9]
    want = generate(target, [prompt], 30, temperature=0.0)[0]
    got = speculative_generate(target, draft, prompt, 30, k=k, temperature=0.0)
    assert got.tokens == want
    assert got.proposed == k * got.rounds and 0 <= got.accepted <= got.proposed


def test_a_draft_equal_to_the_target_is_always_accepted(pair):
    target, _ = pair
    got = speculative_generate(target, target, [5, 2], 24, k=4, temperature=0.0)
    assert got.acceptance_rate == 1.0 and got.rounds == -(-24 // 5)


@pytest.mark.parametrize("prompt, k", [([4, 4, 2], 3), (list(range(1, 14)), 2), ([9], 5)])
def test_greedy_past_the_context_matches_generate(pair, prompt, k):
    target, draft = pair
    want = generate(target, [prompt], 110, temperature=0.0)[0]
    got = speculative_generate(target, draft, prompt, 110, k=k, temperature=0.0)
    # both re-prefill the latest half-context at the same points (next_chunk), so the whole
    # text is the target's, across three re-prefills of a 48-token context
    assert got.tokens == want


def test_the_acceptance_rule_emits_the_targets_distribution():
    """One round with k = 1: the first emitted token (the draft if kept, else the residual
    draw) must follow p exactly, whatever q is. 40,000 seeded draws, within 5 sigma."""
    p_V = jnp.array([0.5, 0.2, 0.2, 0.1, 0.0])
    q_V = jnp.array([0.1, 0.1, 0.3, 0.3, 0.2])

    @jax.jit
    def first_token(key):
        draft_key, rule_key = jax.random.split(key)
        d = jax.random.categorical(draft_key, jnp.log(q_V)).astype(jnp.int32)
        p_KV = jnp.stack([p_V, jnp.full(5, 0.2)])    # after the draft: any distribution
        a, nxt = accept(p_KV, q_V[None], d[None], rule_key, greedy=False)
        return jnp.where(a == 1, d, nxt)

    n = 40_000
    draws = np.asarray(jax.vmap(first_token)(jax.random.split(jax.random.key(0), n)))
    freq = np.bincount(draws, minlength=5) / n
    sigma = np.sqrt(np.asarray(p_V) * (1 - np.asarray(p_V)) / n) + 1e-9
    assert np.all(np.abs(freq - np.asarray(p_V)) <= 5 * sigma + 1e-12), freq
    assert freq[4] == 0.0                       # a token the target never picks never appears


def test_sampled_output_follows_the_target_over_two_tokens():
    """The whole decoder at temperature 1: the first two tokens' joint frequencies over 1,000 seeds
    against the target's exact p(t1) p(t2 | t1), a chi-square test at a fixed seed."""
    small_target = init_model(tiny_model(context_len=16, vocab_size=6, n_layers=1, d_model=16), seed=3)
    small_draft = init_model(tiny_model(context_len=16, vocab_size=6, n_layers=1, d_model=8, n_heads=2), seed=7)
    # sharpen both (random tiny models are close to uniform, where any rule looks right)
    # and make them disagree: the draft peaked elsewhere than the target
    small_target.wte_VD[...] = small_target.wte_VD[...] * 6      # p(t1): 0.08 ... 0.53
    small_draft.wte_VD[...] = small_draft.wte_VD[...] * 6        # q(t1): total variation 0.28
    prompt = [1, 2]
    logits = forward(small_target, jnp.asarray([prompt]))[0, -1]
    p1 = np.asarray(jax.nn.softmax(logits))
    p12 = np.zeros((6, 6))
    for t1 in range(6):
        p12[t1] = p1[t1] * np.asarray(jax.nn.softmax(forward(small_target, jnp.asarray([prompt + [t1]]))[0, -1]))
    counts = np.zeros((6, 6))
    n = 1000
    for seed in range(n):
        t = speculative_generate(small_target, small_draft, prompt, 2, k=2, temperature=1.0, seed=seed).tokens
        counts[t[0], t[1]] += 1
    expected = p12 * n
    keep = expected >= 5                        # chi-square needs 5 expected per cell: pool the rest
    chi2 = (((counts - expected) ** 2 / expected)[keep].sum()
            + (counts[~keep].sum() - expected[~keep].sum()) ** 2 / max(expected[~keep].sum(), 1e-9))
    dof = keep.sum()                            # cells kept + the pooled cell - 1
    assert chi2 < dof + 5 * np.sqrt(2 * dof), (chi2, dof)


@nnx.jit
def step(model, tokens_BT, cache):
    return model.step(tokens_BT, cache)


def test_rollback_forgets_exactly_the_last_tokens(pair):
    target, _ = pair
    tokens = jnp.asarray([[3, 1, 4, 1, 5, 9, 2, 6]])
    full = KVCache.empty(target.cfg, 1, 16)
    _, full = step(target, tokens, full)
    rolled = full.rollback(jnp.int32(3))
    short = KVCache.empty(target.cfg, 1, 16)
    _, short = step(target, tokens[:, :5], short)
    assert int(rolled.end) == 5 and int(rolled.length_B[0]) == 5
    np.testing.assert_array_equal(rolled.pos_BS, short.pos_BS)
    after_rolled, _ = step(target, jnp.asarray([[7]]), rolled)
    after_short, _ = step(target, jnp.asarray([[7]]), short)
    np.testing.assert_allclose(after_rolled, after_short, atol=1e-5)


def test_a_ring_cache_refuses_to_roll_back():
    cfg = tiny_model(layer_kinds=("local", "global"), sliding_window=4)
    cache = KVCache.empty(cfg, 1, 16)
    with pytest.raises(ValueError, match="sliding-window"):
        cache.rollback(1)


@pytest.mark.parametrize("kwargs, message", [
    ({"k": 0}, "speculate=0 is invalid"),
    ({"k": -2}, "speculate=-2 is invalid"),
    ({"k": 24}, "leaves no room"),
    ({"max_new_tokens": 0}, "max_new_tokens=0"),
])
def test_bad_settings(pair, kwargs, message):
    target, draft = pair
    args = {"k": 3, "max_new_tokens": 5, **kwargs}
    with pytest.raises(ValueError, match=message):
        speculative_generate(target, draft, [1, 2], args.pop("max_new_tokens"), **args)


def test_a_draft_with_another_vocabulary_is_refused(pair):
    target, _ = pair
    other = init_model(tiny_model(context_len=CTX, vocab_size=41), seed=0)
    with pytest.raises(ValueError, match="vocabulary"):
        speculative_generate(target, other, [1], 5, k=2)
    with pytest.raises(ValueError, match=r"token ids in \[0, 40\)"):
        speculative_generate(target, target, [40], 5, k=2)
