"""Distillation: the loss's semantics (KL, temperature, alpha, T^2), no gradient into the teacher,
clear errors, and a DistillTrainer at alpha = 0 that is ordinary training, loss for loss."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from _lib_support import tiny_config, tiny_data
from rawweights_jax.model.gpt import init_model
from rawweights_jax.train.distill import DistillTrainer, distill, distill_loss, soft_target_kl
from rawweights_jax.train.loss import cross_entropy
from rawweights_jax.train.trainer import Trainer, init_state

DATA = tiny_data()
B, T, V = 3, 5, 11
STUDENT_BTV = jax.random.normal(jax.random.key(0), (B, T, V)) * 2
TEACHER_BTV = jax.random.normal(jax.random.key(1), (B, T, V)) * 2
TARGETS_BT = jax.random.randint(jax.random.key(2), (B, T), 0, V)


def kl_by_hand(student, teacher, temperature):
    """KL(p || q) of the softened distributions, in numpy, float64."""
    soft = lambda z: np.exp(z / temperature - np.log(np.exp(z / temperature).sum(-1, keepdims=True)))
    p, q = soft(np.asarray(teacher, np.float64)), soft(np.asarray(student, np.float64))
    return (p * (np.log(p) - np.log(q))).sum(-1).mean()


def test_kl_is_zero_when_the_student_is_the_teacher():
    assert float(soft_target_kl(TEACHER_BTV, TEACHER_BTV, 2.0)) == pytest.approx(0.0, abs=1e-6)
    assert float(distill_loss(TEACHER_BTV, TEACHER_BTV, TARGETS_BT, temperature=3.0, alpha=1.0)) == \
        pytest.approx(0.0, abs=1e-5)
    assert float(soft_target_kl(STUDENT_BTV, TEACHER_BTV, 2.0)) > 0.1


def test_alpha_zero_is_exactly_the_cross_entropy():
    for temperature in (0.5, 1.0, 4.0):
        np.testing.assert_array_equal(
            distill_loss(STUDENT_BTV, TEACHER_BTV, TARGETS_BT, temperature=temperature, alpha=0.0),
            cross_entropy(STUDENT_BTV, TARGETS_BT))


@pytest.mark.parametrize("temperature, alpha", [(1.0, 1.0), (2.0, 1.0), (2.0, 0.5), (4.0, 0.3)])
def test_the_loss_mixes_t_squared_kl_and_cross_entropy_by_alpha(temperature, alpha):
    expected = (alpha * temperature ** 2 * kl_by_hand(STUDENT_BTV, TEACHER_BTV, temperature)
                + (1 - alpha) * float(cross_entropy(STUDENT_BTV, TARGETS_BT)))
    got = distill_loss(STUDENT_BTV, TEACHER_BTV, TARGETS_BT, temperature=temperature, alpha=alpha)
    assert float(got) == pytest.approx(expected, rel=1e-5)


def test_t_squared_keeps_the_soft_gradient_the_same_size_at_high_temperature():
    """Hinton et al.: at high T, d(T^2 KL)/dz -> (z - v) / V for logits of zero mean (here
    also divided by the B*T positions the loss averages), whatever T; without T^2 it shrinks."""
    center = lambda z: z - z.mean(-1, keepdims=True)
    z, v = center(STUDENT_BTV), center(TEACHER_BTV)
    grad = lambda t: jax.grad(lambda s: distill_loss(s, v, TARGETS_BT, temperature=t, alpha=1.0))(z)
    limit = (z - v) / V / (B * T)
    for t in (300.0, 1000.0):
        np.testing.assert_allclose(grad(t), limit, atol=0.02 * float(jnp.abs(limit).max()))
    bare = jax.grad(lambda s: soft_target_kl(s, v, 300.0))(z)      # the KL alone: 1/T^2 as large
    assert float(jnp.abs(bare).max()) < float(jnp.abs(limit).max()) / 100


def test_no_gradient_flows_into_the_teacher():
    g = jax.grad(lambda t: distill_loss(STUDENT_BTV, t, TARGETS_BT, temperature=2.0, alpha=0.7))(TEACHER_BTV)
    np.testing.assert_array_equal(g, jnp.zeros_like(g))
    g_student = jax.grad(lambda s: distill_loss(s, TEACHER_BTV, TARGETS_BT, alpha=0.7))(STUDENT_BTV)
    assert float(jnp.abs(g_student).max()) > 0


@pytest.mark.parametrize("kwargs, message", [
    ({"temperature": 0.0}, r"temperature=0\.0 is invalid: expected a number > 0"),
    ({"temperature": -1.0}, r"temperature=-1\.0 is invalid"),
    ({"alpha": -0.1}, r"alpha=-0\.1 is invalid: expected a number in \[0, 1\]"),
    ({"alpha": 1.5}, r"alpha=1\.5 is invalid"),
])
def test_bad_temperature_or_alpha_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        distill_loss(STUDENT_BTV, TEACHER_BTV, TARGETS_BT, **kwargs)


def test_vocabularies_that_differ_are_refused():
    with pytest.raises(ValueError, match=r"student logits \(3, 5, 11\) and teacher logits \(3, 5, 12\) differ"):
        distill_loss(STUDENT_BTV, jnp.zeros((B, T, V + 1)), TARGETS_BT)
    cfg = tiny_config()
    graphdef, _ = init_state(cfg)
    other = init_model(tiny_config(vocab_size=48).model)
    with pytest.raises(ValueError, match=r"teacher's vocabulary \(48\) differs from the student's \(40\)"):
        DistillTrainer(cfg, graphdef, DATA, other)
    short = init_model(tiny_config(context_len=8).model)
    with pytest.raises(ValueError, match=r"teacher reads 8 tokens, fewer than the student's context_len=16"):
        DistillTrainer(cfg, graphdef, DATA, short)
    with pytest.raises(ValueError, match=r"alpha=2 is invalid"):
        DistillTrainer(cfg, graphdef, DATA, init_model(cfg.model), alpha=2)


def test_alpha_zero_trains_exactly_as_the_ordinary_trainer():
    cfg = tiny_config()
    teacher = init_model(cfg.model, seed=5)
    runs = []
    for make in (lambda g: Trainer(cfg, g, DATA), lambda g: DistillTrainer(cfg, g, DATA, teacher, alpha=0.0)):
        graphdef, state = init_state(cfg)
        trainer = make(graphdef)
        state, metrics = trainer.run_steps(state, trainer.train_Z, 5)
        runs.append((np.asarray(metrics["loss"]), jax.tree.leaves(state.params)))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)


def test_a_student_moves_toward_its_teacher_and_the_teacher_stays_frozen():
    """Pure distillation (alpha = 1) from a trained teacher: the student's KL to the teacher falls,
    its reported loss is still the cross-entropy on the right characters, the teacher is unchanged."""
    from rawweights_jax.train.loop import train

    teacher = train(tiny_config(max_iters=40, lr=3e-3), DATA, progress=None).model
    before = [np.asarray(x) for x in jax.tree.leaves(jax.tree.map(jnp.copy, teacher))]
    student_cfg = tiny_config(n_layers=1, d_model=16, max_iters=40, eval_interval=20, lr=3e-3)
    x_BT = jnp.asarray(DATA.val_Z[:16 * 4].reshape(4, 16))
    kl = lambda m: float(soft_target_kl(m(x_BT), teacher(x_BT), 2.0))
    start = kl(init_model(student_cfg.model, student_cfg.train.seed))
    result = distill(student_cfg, DATA, teacher, temperature=2.0, alpha=1.0, progress=None)
    assert kl(result.model) < 0.5 * start
    assert result.history["step"] == list(range(1, 41)) and [e["step"] for e in result.history["eval"]] == [20, 40]
    loss = result.history["loss"]                  # the cross-entropy, not the KL: ln V at the start
    assert loss[0] == pytest.approx(np.log(40), abs=0.05) and loss[-1] < loss[0] - 0.2
    for a, b in zip(before, jax.tree.leaves(teacher)):
        np.testing.assert_array_equal(a, b)


def test_stop_after_keeps_the_full_runs_first_steps():
    cfg = tiny_config(max_iters=20, eval_interval=10)
    teacher = init_model(cfg.model, seed=3)
    full = distill(cfg, DATA, teacher, alpha=0.5, progress=None).history
    short = distill(cfg, DATA, teacher, alpha=0.5, stop_after=7, progress=None).history
    assert short["step"] == list(range(1, 8)) and short["loss"] == full["loss"][:7]
