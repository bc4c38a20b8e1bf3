"""GRPO (rawweights_jax/posttrain/grpo.py, grpo_loop.py): group-relative advantages, the k3 KL
estimator, the clipped objective's gradient, answer masks, and a short run that learns."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _lib_support import tiny_model

from rawweights_jax.model.gpt import init_model
from rawweights_jax.posttrain.grpo import completion_mask, group_advantages, grpo_loss, kl_k3, token_passes
from rawweights_jax.posttrain.grpo_loop import GRPOConfig, answer_tokens, grpo_train, rollout_batch


def test_advantages_of_a_hand_group():
    adv = np.asarray(group_advantages([[1.0, 0.0, 0.0, 1.0], [0.5, 0.5, 0.5, 0.5]]))
    # mean 0.5, std 0.5: the right answers get +1, the wrong ones -1 (to within eps)
    np.testing.assert_allclose(adv[0], [1, -1, -1, 1], atol=1e-3)
    np.testing.assert_array_equal(adv[1], 0.0)       # all equal: nothing to learn
    np.testing.assert_allclose(adv.sum(axis=1), 0.0, atol=1e-6)


def test_advantages_refuse_a_group_of_one():
    with pytest.raises(ValueError, match=r"shape \(3, 1\).*at least 2"):
        group_advantages(np.zeros((3, 1)))


def test_k3_is_never_negative_and_zero_at_equality():
    logp = jnp.log(jax.random.uniform(jax.random.key(0), (4, 50), minval=0.01, maxval=1.0))
    ref = jnp.log(jax.random.uniform(jax.random.key(1), (4, 50), minval=0.01, maxval=1.0))
    assert float(kl_k3(logp, ref).min()) >= 0.0
    np.testing.assert_array_equal(kl_k3(logp, logp), 0.0)
    assert float(kl_k3(logp, logp - 1.0).mean()) > float(kl_k3(logp, logp - 0.1).mean()) > 0


def _grad_of_loss(logp, old, adv, clip=0.2):
    mask = jnp.ones((1, 1), bool)
    f = lambda lp: grpo_loss(lp, old, lp, jnp.asarray([adv]), mask, clip=clip, beta=0.0)[0]
    return float(jax.grad(f)(jnp.asarray([[logp]]))[0, 0])


def test_clipped_objective_pushes_good_answers_up_and_bad_ones_down():
    # descending the loss raises log p where the advantage is positive, lowers it where negative
    assert _grad_of_loss(-1.0, -1.0, adv=+1.0) < 0
    assert _grad_of_loss(-1.0, -1.0, adv=-1.0) > 0
    # once the ratio left [1-clip, 1+clip] in the favoured direction, the step stops pushing
    assert _grad_of_loss(-1.0 + np.log(1.5), -1.0, adv=+1.0) == 0.0
    assert _grad_of_loss(-1.0 + np.log(0.5), -1.0, adv=-1.0) == 0.0
    # ... but not in the direction it got wrong
    assert _grad_of_loss(-1.0 + np.log(0.5), -1.0, adv=+1.0) < 0


def test_kl_penalty_pulls_towards_the_reference():
    mask = jnp.ones((1, 1), bool)
    f = lambda lp: grpo_loss(lp, lp, jnp.asarray([[-2.0]]), jnp.zeros(1), mask, beta=0.1)[0]
    assert float(jax.grad(f)(jnp.asarray([[-1.0]]))[0, 0]) > 0    # above the reference: go down


def test_tokens_after_the_end_marker_are_masked():
    E = 9
    np.testing.assert_array_equal(completion_mask(np.asarray([[1, 2, E, 3, E], [4, 5, 6, 7, 8]]), E),
                                  [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    assert answer_tokens([1, 2, E, 3], E) == [1, 2, E]
    x, y, mask = rollout_batch([[5, 6, 7]], [[1, E, 3, 4]], E, width=8)
    np.testing.assert_array_equal(x[0], [5, 6, 7, 1, E, 3, 0, 0])
    np.testing.assert_array_equal(y[0], [6, 7, 1, E, 3, 4, 0, 0])
    np.testing.assert_array_equal(mask[0], [0, 0, 1, 1, 0, 0, 0, 0])   # targets 1 and E only
    # a masked-out token's log-probability does not reach the loss
    lp = jnp.zeros((1, 8))
    g = jax.grad(lambda l: grpo_loss(l, jax.lax.stop_gradient(l), l, jnp.ones(1), jnp.asarray(mask))[0])(lp)
    np.testing.assert_array_equal(np.asarray(g[0]) != 0, mask[0])


def test_rollout_refuses_what_does_not_fit():
    with pytest.raises(ValueError, match="do not fit the training width 4"):
        rollout_batch([[1, 2, 3]], [[4, 5, 6]], 9, width=4)


def test_config_names_the_bad_value():
    with pytest.raises(ValueError, match="group=1 .*at least|group=1 .*>= 2"):
        GRPOConfig(group=1)
    with pytest.raises(ValueError, match="clip=1.5"):
        GRPOConfig(clip=1.5)
    assert token_passes(sampled=10, forward=4, trained=4) == 26
    with pytest.raises(ValueError, match="trained=-1"):
        token_passes(sampled=0, forward=0, trained=-1)


def test_a_few_steps_raise_the_reward_on_an_easy_task():
    # reward: the share of the answer's tokens drawn from the lower half of the vocabulary,
    # about 0.5 for an untrained model; GRPO should lean every answer that way
    model = init_model(tiny_model(), seed=0)
    V, END = model.cfg.vocab_size, 39
    prompts = [[1 + i, 2 + i, 3 + i] for i in range(8)]
    reward = lambda i, toks: float(np.mean([t < V // 2 for t in toks]))
    cfg = GRPOConfig(steps=25, prompts=4, group=8, max_new=6, lr=3e-3, beta=0.0)
    new_model, h = grpo_train(model, prompts, reward, end_id=END, vocab=V, cfg=cfg, seed=1)
    start, end = np.mean(h["reward"][:3]), np.mean(h["reward"][-3:])
    assert end > start + 0.2, (start, end)
    assert h["kl"][-1] > h["kl"][0] >= 0.0           # it moved away from the reference
    assert h["token_passes"] == sorted(h["token_passes"]) and len(h["step"]) == 25
    assert new_model is not model


def test_the_bench_cheapest_point_returns_every_key(shakespeare):
    from rawweights_jax.bench.posttrain_grpo import run_grpo
    from rawweights_jax.data.tokenizer import CharTokenizer
    from rawweights_jax.posttrain.chat import EXTRA_CHARS

    tok = CharTokenizer("".join(sorted(set("abcdefghijklmnopqrstuvwxyz :" + EXTRA_CHARS))))
    model = init_model(tiny_model(vocab_size=tok.vocab_size, context_len=32), seed=0)
    r = run_grpo(model, tok, cfg=GRPOConfig(steps=2, prompts=2, group=2), seeds=2, n_test=4)
    for key in ("grpo_initial_reward", "grpo_final_reward", "grpo_kl", "grpo_curves",
                "grpo_seeds", "sft_more_accuracy", "grpo_accuracy", "grpo_initial_accuracy",
                "sft_more_steps", "grpo_token_passes"):
        assert key in r, key
    assert r["grpo_seeds"] == [0, 1] and set(r["grpo_curves"]) == {"0", "1"}
    assert len(r["grpo_curves"]["0"]["reward"]) == 2 and r["sft_more_steps"][0] >= 1
