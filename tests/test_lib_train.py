"""Training: it learns, it is deterministic, and a resumed run continues exactly."""

import json
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from _lib_support import tiny_config, tiny_data
from rawweights_jax.train.trainer import Trainer, init_state
from rawweights_jax.train.optimizer import learning_rate, make_optimizer
from rawweights_jax.train.loop import train

DATA = tiny_data()

def test_loss_falls_and_history_is_complete(tmp_path):
    cfg = tiny_config(max_iters=60, eval_interval=30, lr=3e-3)
    result = train(cfg, DATA, progress=None)
    h = result.history
    assert h["step"] == list(range(1, 61))
    assert np.mean(h["loss"][-10:]) < np.mean(h["loss"][:10]) - 0.5
    assert [e["step"] for e in h["eval"]] == [30, 60]
    assert all(len(h[k]) == 60 for k in ("loss", "grad_norm", "lr", "tokens_per_second"))
    json.dumps(h)                                                   # savable as JSON

def test_same_seed_same_run_other_seed_other_run():
    cfg = tiny_config(max_iters=10)
    a = train(cfg, DATA, progress=None).history["loss"]
    b = train(cfg, DATA, progress=None).history["loss"]
    c = train(cfg.replace(seed=7), DATA, progress=None).history["loss"]
    assert a == b and a != c

def test_resumed_run_continues_with_the_same_losses(tmp_path):
    cfg = tiny_config(max_iters=20, dropout=0.1)
    full = train(cfg, DATA, progress=None)

    def kill_at_step_10(line):        # progress is reported right after the step-10 checkpoint
        if line.startswith("step") and " 10/20" in line:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg, DATA, out_dir=tmp_path, progress=kill_at_step_10, log_interval=10)
    resumed = train(cfg, DATA, out_dir=tmp_path, resume=True, progress=None)
    assert resumed.history["step"] == full.history["step"]
    np.testing.assert_array_equal(resumed.history["loss"], full.history["loss"])
    for a, b in zip(jax.tree.leaves(resumed.state.params), jax.tree.leaves(full.state.params)):
        np.testing.assert_array_equal(a, b)

def test_gradient_accumulation_with_bf16_compute_keeps_float32_weights():
    result = train(tiny_config(max_iters=10, grad_accum=2, compute_dtype="bfloat16"), DATA, progress=None)
    h = result.history
    assert all(np.isfinite(h["loss"])) and h["loss"][-1] < h["loss"][0]
    assert {x.dtype for x in jax.tree.leaves(result.state.params)} == {jnp.dtype("float32")}

def test_schedule_warms_up_then_decays_to_min_lr():
    cfg = tiny_config(max_iters=100, warmup_iters=10, lr=1.0, min_lr=0.1)
    lrs = [float(learning_rate(cfg.train, s)) for s in range(100)]
    assert lrs[0] < lrs[5] < lrs[9] <= 1.0 and abs(lrs[10] - 1.0) < 1e-6
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:])) and abs(float(learning_rate(cfg.train, 100)) - 0.1) < 1e-6

def test_weight_decay_touches_matrices_only():
    cfg = tiny_config(lr=1e-2, weight_decay=0.5, bias=True, warmup_iters=0)
    _, state = init_state(cfg)
    ones = jax.tree.map(jnp.ones_like, state.params)
    with jax.numpy_dtype_promotion("standard"):   # optax mixes float and int32 (trainer.py)
        updates, _ = make_optimizer(cfg.train).update(jax.tree.map(jnp.zeros_like, ones), state.opt_state, ones)
    decayed = {jax.tree_util.keystr(path).split("'")[-2]: bool(np.abs(np.asarray(u)).max() > 0)
               for path, u in jax.tree_util.tree_leaves_with_path(updates)}
    assert decayed["wqkv_DKJH"] and decayed["w_in_DF"] and decayed["wte_VD"] and decayed["wpe_TD"]
    assert not decayed["bqkv_KJH"] and not decayed["scale_D"] and not decayed["b_in_F"]

def test_training_split_across_two_cpu_devices_gives_the_same_losses(mesh2):
    """The data-parallel path (a batch split over a mesh) computes the same run as one device."""
    split = train(tiny_config(max_iters=10), DATA, progress=None, mesh=mesh2).history["loss"]
    single = train(tiny_config(max_iters=10), DATA, progress=None).history["loss"]
    np.testing.assert_allclose(split, single, rtol=2e-5)


def _cross_device_sums(jaxpr, loops=0):
    """(size, enclosing scans) of every cross-device sum in a jaxpr."""
    for e in jaxpr.eqns:
        if e.primitive.name.startswith("psum"):
            yield from ((v.aval.size, loops) for v in e.invars)
        for sub in e.params.values():
            sub = getattr(sub, "jaxpr", sub)
            if hasattr(sub, "eqns"):
                yield from _cross_device_sums(sub, loops + (e.primitive.name == "scan"))


def test_data_parallel_step_sums_all_gradients_in_one_collective(mesh2):
    """Each device's gradients cross over once per step, as one flat vector (train/trainer.py,
    Trainer.gradients), not once per weight nor per micro-batch: the compiled step of a run
    with two micro-batches holds one all-reduce of the whole gradient, plus one for the loss
    and expert loads."""
    cfg = tiny_config(grad_accum=2)
    graphdef, state = init_state(cfg)
    trainer = Trainer(cfg, graphdef, DATA, mesh=mesh2)
    state = trainer.place(state)
    hlo = trainer.run_steps.lower(state, trainer.train_Z, 2).compile().as_text()
    n_params = sum(x.size for x in jax.tree.leaves(state.params))
    reduced = re.findall(r"= \(?(f32\[\d*\])[^=]*? all-reduce\(", hlo)
    assert reduced.count(f"f32[{n_params}]") == 1, reduced
    assert len(reduced) <= 2, reduced
    # ... and that sum sits in the loop over steps only, not in the loop over micro-batches
    jaxpr = jax.make_jaxpr(trainer._run_steps, static_argnums=2)(state, trainer.train_Z, 2)
    summed = list(_cross_device_sums(jaxpr.jaxpr))
    assert [loops for size, loops in summed if size == n_params] == [1], summed


def test_vocabulary_larger_than_config_is_an_error():
    with pytest.raises(ValueError, match="distinct tokens but ModelConfig.vocab_size=5"):
        train(tiny_config(vocab_size=5), DATA, progress=None)
