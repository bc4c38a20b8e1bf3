"""Preference optimization: the DPO and SimPO losses against hand-computed values, their
limits and gradient signs, near-miss pairs, and a few DPO steps raising held-out accuracy."""

from __future__ import annotations

import math
import random

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rawweights_jax.posttrain.dpo import dpo_loss, simpo_loss
from rawweights_jax.posttrain.pairs import near_miss


def softplus(z):
    return math.log1p(math.exp(z))


def test_dpo_loss_equals_the_hand_computed_value():
    # rewards: 0.5 * (-1 - -1.5) = 0.25 and 0.5 * (-2 - -1.5) = -0.25; margin 0.5
    out = dpo_loss(jnp.array([-1.0]), jnp.array([-2.0]), jnp.array([-1.5]), jnp.array([-1.5]), 0.5)
    assert float(out.chosen_reward_B[0]) == pytest.approx(0.25)
    assert float(out.rejected_reward_B[0]) == pytest.approx(-0.25)
    assert float(out.margin_B[0]) == pytest.approx(0.5)
    assert float(out.loss) == pytest.approx(softplus(-0.5), rel=1e-6)   # -log sigmoid(0.5)
    assert float(out.accuracy) == 1.0


def test_dpo_loss_is_the_mean_over_pairs_and_a_tie_counts_as_wrong():
    pol_c, pol_r = jnp.array([-1.0, -3.0, -2.0]), jnp.array([-2.0, -1.0, -2.0])
    zeros = jnp.zeros(3)
    out = dpo_loss(pol_c, pol_r, zeros, zeros, 1.0)
    expected = np.mean([softplus(-1.0), softplus(2.0), softplus(0.0)])
    assert float(out.loss) == pytest.approx(expected, rel=1e-6)
    assert float(out.accuracy) == pytest.approx(1 / 3)


def test_simpo_loss_equals_the_hand_computed_value():
    # rewards 2 * -0.5 = -1 and 2 * -1 = -2; margin 1, minus gamma 0.5
    out = simpo_loss(jnp.array([-0.5]), jnp.array([-1.0]), 2.0, 0.5)
    assert float(out.margin_B[0]) == pytest.approx(1.0)
    assert float(out.loss) == pytest.approx(softplus(-0.5), rel=1e-6)


def test_equal_answers_cost_log_2_and_a_small_beta_tends_to_log_2():
    logp = jnp.array([-4.0, -7.0])
    ref = jnp.array([-5.0, -1.0])
    assert float(dpo_loss(logp, logp, ref, ref, 0.3).loss) == pytest.approx(math.log(2))
    assert float(simpo_loss(logp, logp, 0.3, 0.0).loss) == pytest.approx(math.log(2))
    far = dpo_loss(jnp.array([0.0]), jnp.array([-50.0]), jnp.array([-50.0]), jnp.array([0.0]), 1e-6)
    assert float(far.loss) == pytest.approx(math.log(2), abs=1e-4)


def test_swapping_chosen_and_rejected_flips_the_margin():
    a, b, ra, rb = jnp.array([-1.2]), jnp.array([-0.7]), jnp.array([-1.0]), jnp.array([-0.9])
    fwd, back = dpo_loss(a, b, ra, rb, 0.4), dpo_loss(b, a, rb, ra, 0.4)
    assert float(fwd.margin_B[0]) == pytest.approx(-float(back.margin_B[0]))
    # -log s(m) + log s(-m) = -m: the loss of a pair minus that of its mirror image is -margin
    assert float(fwd.loss - back.loss) == pytest.approx(-float(fwd.margin_B[0]), abs=1e-6)


def test_the_gradient_raises_the_chosen_lowers_the_rejected_and_ignores_the_reference():
    args = [jnp.array([-2.0, -1.0]), jnp.array([-1.5, -3.0]), jnp.array([-1.8, -1.1]),
            jnp.array([-1.6, -2.5])]
    grads = jax.grad(lambda *a: dpo_loss(*a, 0.1).loss, argnums=(0, 1, 2, 3))(*args)
    assert np.all(np.asarray(grads[0]) < 0) and np.all(np.asarray(grads[1]) > 0)
    assert np.all(np.asarray(grads[2]) == 0) and np.all(np.asarray(grads[3]) == 0)
    g_c, g_r = jax.grad(lambda c, r: simpo_loss(c, r, 2.0, 0.5).loss, argnums=(0, 1))(args[0], args[1])
    assert np.all(np.asarray(g_c) < 0) and np.all(np.asarray(g_r) > 0)


@pytest.mark.parametrize("call, message", [
    (lambda: dpo_loss(jnp.zeros(2), jnp.zeros(2), jnp.zeros(2), jnp.zeros(2), 0.0), "beta=0.0"),
    (lambda: dpo_loss(jnp.zeros(2), jnp.zeros(3), jnp.zeros(2), jnp.zeros(2), 0.1), "one shape"),
    (lambda: simpo_loss(jnp.zeros(2), jnp.zeros(2), 1.0, -0.1), "gamma=-0.1"),
    (lambda: simpo_loss(jnp.zeros((2, 2)), jnp.zeros((2, 2)), 1.0, 0.0), "one shape"),
])
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_a_near_miss_differs_in_one_place_and_keeps_the_kind_of_character():
    rng = random.Random(0)
    for answer in ("1458", "olleh", "7", "ROMEO", "ab"):
        for _ in range(20):
            miss = near_miss(answer, rng)
            assert miss != answer and len(miss) == len(answer)
            diff = [i for i, (a, b) in enumerate(zip(answer, miss)) if a != b]
            swapped = len(diff) == 2 and diff[1] == diff[0] + 1 and sorted(miss) == sorted(answer)
            assert len(diff) == 1 or swapped, (answer, miss)
            if answer.isdigit():
                assert miss.isdigit()
    with pytest.raises(ValueError, match="could not find a near miss of '-'"):
        near_miss("-", rng)
