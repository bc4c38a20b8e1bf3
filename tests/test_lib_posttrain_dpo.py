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


# ------------------------------------------------------------------------- pairs and training
def tiny_student(shakespeare, ctx: int = 64):
    """A random one-layer model over the student's characters and the template's."""
    from _lib_support import tiny_model

    from rawweights_jax.model.gpt import init_model
    from rawweights_jax.posttrain.chat import extend_tokenizer

    tok = extend_tokenizer(shakespeare.tokenizer)
    return init_model(tiny_model(vocab_size=tok.vocab_size, context_len=ctx, n_layers=1), seed=0), tok


def test_pairs_are_right_against_wrong_held_out_and_masked_on_the_answer(shakespeare):
    from rawweights_jax.posttrain import tasks
    from rawweights_jax.posttrain.chat import render
    from rawweights_jax.posttrain.pairs import ORDER, encode_pairs, train_and_heldout

    train, heldout = train_and_heldout(("add3", "speaker", ORDER), 30, 10, 0)
    assert not {p.prompt for p in train if p.task != ORDER} & {p.prompt for p in heldout}
    assert not ({p.prompt + p.chosen for p in train if p.task == ORDER}
                & {p.prompt + p.chosen for p in heldout})
    for p in train + heldout:
        if p.task == ORDER:
            assert sorted(p.chosen.split()) == sorted(p.rejected.split()) and p.chosen != p.rejected
        else:
            task = tasks.task(p.task)
            assert task.grade(p.prompt, p.chosen) and not task.grade(p.prompt, p.rejected)
    assert {p.rejected for p in train if p.task == "speaker"} <= set(tasks.SPEAKERS)
    _, tok = tiny_student(shakespeare)
    arrays = encode_pairs(tok, train, 64)
    width = max(len(render(p.prompt, a)) for p in train for a in (p.chosen, p.rejected))
    assert arrays.x_c_NT.shape == (len(train), width - 1)
    # the mask covers the answer and its end marker, nothing else
    assert arrays.m_c_NT.sum(1).tolist() == [len(p.chosen) + 1 for p in train]
    assert arrays.m_r_NT.sum(1).tolist() == [len(p.rejected) + 1 for p in train]
    with pytest.raises(ValueError, match="unknown task 'nope'"):
        train_and_heldout(("nope",), 2, 2, 0)


def test_a_few_dpo_steps_raise_held_out_accuracy_and_leave_the_reference_alone(shakespeare):
    from flax import nnx

    from rawweights_jax.posttrain.pairs import encode_pairs, train_and_heldout
    from rawweights_jax.posttrain.pref_eval import preference_metrics, sampled_kl
    from rawweights_jax.posttrain.preference import PrefConfig, pair_logps, train_preferences

    model, tok = tiny_student(shakespeare)
    before = jax.tree.map(np.array, nnx.state(model, nnx.Param))
    train, heldout = train_and_heldout(("count",), 256, 64, 0)
    arrays, held = encode_pairs(tok, train, 64), encode_pairs(tok, heldout, 64)
    ref = pair_logps(model, held)
    cfg = PrefConfig("dpo", beta=0.5, steps=40, batch=32, lr=3e-3, seed=0)
    policy, history = train_preferences(
        model, arrays, cfg, eval_every=20,
        evaluate=lambda step, pol: preference_metrics(pol, held, ref, cfg))
    assert [h["step"] for h in history] == [0, 20, 40]
    assert history[0]["accuracy"] == 0.0 and history[0]["loss"] == pytest.approx(math.log(2), abs=1e-5)
    assert history[-1]["accuracy"] > 0.75 and history[-1]["margin"] > 0
    assert history[-1]["train_loss"] < history[1]["train_loss"] < math.log(2)
    after = jax.tree.map(np.array, nnx.state(model, nnx.Param))
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(before), jax.tree.leaves(after)))
    prompts = [p.prompt for p in heldout[:16]]
    assert sampled_kl(model, model, tok, prompts) == pytest.approx(0.0, abs=1e-5)
    assert sampled_kl(policy, model, tok, prompts, samples=4) > 0
    with pytest.raises(ValueError, match="batch=300 is larger than the 256 training pairs"):
        train_preferences(model, arrays, cfg._replace(batch=300))
    with pytest.raises(ValueError, match="loss='ipo'"):
        train_preferences(model, arrays, cfg._replace(loss="ipo"))


def test_the_bench_cheapest_point_returns_every_key(shakespeare):
    from rawweights_jax.bench.posttrain_dpo import run_dpo

    model, tok = tiny_student(shakespeare)
    r = run_dpo(model, tok, seed=0, betas=(0.1, 1.0), steps=2, n_train=32, n_heldout=4,
                kinds=("count", "order"), hard_kinds=("add3",))
    for key in ("dpo_preference_accuracy", "dpo_kl", "dpo_reward_margin", "dpo_greedy_accuracy",
                "dpo_likelihood_accuracy", "simpo_preference_accuracy", "simpo_kl",
                "simpo_greedy_accuracy", "dpo_reference_likelihood_accuracy",
                "dpo_reference_greedy_accuracy", "dpo_pairs", "dpo_recipe", "dpo_seconds"):
        assert key in r, key
    assert set(r["dpo_by_beta"]) == {"0.1", "1"}
    assert set(r["dpo_runs"]) == {"dpo_0.1", "dpo_1", "simpo", "dpo_hard"}
    run = r["dpo_runs"]["dpo_0.1"]
    assert [c["step"] for c in run["curve"]] == [0, 1, 2]
    assert set(run["preference_accuracy_per_task"]) == {"count", "order"}
    assert 0 <= r["dpo_preference_accuracy"] <= 1 and np.isfinite(r["dpo_kl"])
    with pytest.raises(ValueError, match="headline beta 0.1"):
        run_dpo(model, tok, betas=(0.3,), steps=1)


def test_the_committed_result_file_holds_what_the_page_reads():
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks/results/posttrain-dpo-cpu-2026-12-04.json"
    r = json.loads(path.read_text())
    for key in ("device", "date", "command", "commit", "dpo_preference_accuracy", "dpo_kl",
                "dpo_reward_margin", "simpo_preference_accuracy", "dpo_by_beta", "dpo_recipe",
                "dpo_pairs", "dpo_reference_greedy_accuracy", "dpo_reference_likelihood_accuracy"):
        assert key in r, key
    assert set(r["dpo_runs"]) == {"dpo_0.03", "dpo_0.1", "dpo_0.3", "dpo_1", "simpo", "dpo_hard"}
    for run in r["dpo_runs"].values():
        assert {"curve", "kl", "preference_accuracy", "preference_accuracy_per_task"} <= set(run)
        assert run["curve"][-1]["step"] == r["dpo_recipe"]["steps"]
