"""The training recipe and a trainer's monitoring: schedules, Muon, z-loss, gradient
accumulation equal to the large batch, per-layer norms and loss spikes in the history, and
which checkpoints a run keeps."""

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from _lib_support import tiny_config, tiny_data
from rawweights_jax.ckpt import checkpoint as ckpt
from rawweights_jax.ckpt import keep
from rawweights_jax.train import monitor
from rawweights_jax.train.loop import train
from rawweights_jax.train.loss import cross_entropy, z_loss
from rawweights_jax.train.optimizer import learning_rate, make_optimizer, muon_dims
from rawweights_jax.train.trainer import Trainer, init_state

DATA = tiny_data()
RESULT = "benchmarks/results/recipe-cpu-2026-12-04.json"


def _lrs(**changes):
    cfg = tiny_config(max_iters=100, warmup_iters=10, lr=1.0, min_lr=0.1, **changes).train
    return np.array([float(learning_rate(cfg, s)) for s in range(101)])


def test_wsd_holds_then_decays_linearly_over_the_last_fraction_and_constant_holds():
    wsd = _lrs(schedule="wsd", decay_frac=0.2)
    assert wsd[0] < wsd[9] < 1.0
    np.testing.assert_allclose(wsd[10:81], 1.0, rtol=1e-6)          # stable until step 80
    np.testing.assert_allclose(wsd[90], 0.55, rtol=1e-5)            # halfway down the decay
    np.testing.assert_allclose(wsd[100], 0.1, rtol=1e-5)
    assert np.all(np.diff(wsd[80:]) < 0)
    const = _lrs(schedule="constant")
    np.testing.assert_allclose(const[10:], 1.0, rtol=1e-6)


@pytest.mark.parametrize("field, value, message", [
    ("schedule", "linear", "TrainConfig.schedule='linear' is invalid: expected one of 'cosine', 'wsd', 'constant'"),
    ("optimizer", "sgd", "expected one of 'adamw', 'muon'"),
    ("decay_frac", 0.0, "expected a number in \\(0, 1\\]"),
    ("keep_last", -1, "TrainConfig.keep_last=-1 is invalid"),
    ("z_loss", -1e-4, "expected a number >= 0"),
    ("spike_factor", 1.0, "expected a number > 1")])
def test_bad_recipe_fields_are_named(field, value, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(**{field: value})


def test_grad_accum_4_of_batch_3_gives_the_update_of_batch_12():
    small, large = tiny_config(batch_size=3, grad_accum=4), tiny_config(batch_size=12)
    graphdef, state = init_state(large)
    x_BT = jax.random.randint(jax.random.key(0), (12, 16), 0, 40)
    y_BT = jnp.roll(x_BT, -1, axis=1)
    grads, updates = [], []
    for run, A in ((small, 4), (large, 1)):
        trainer = Trainer(run, graphdef, DATA)

        @jax.jit
        def step(params, opt_state, x_ABT, y_ABT):
            g, _, _ = trainer.gradients(params, x_ABT, y_ABT, None)
            with jax.numpy_dtype_promotion("standard"):
                return g, trainer.optimizer.update(g, opt_state, params)[0]
        g, upd = step(state.params, state.opt_state, x_BT.reshape(A, -1, 16), y_BT.reshape(A, -1, 16))
        grads.append(g)
        updates.append(upd)
    for a, b in zip(jax.tree.leaves(grads[0]), jax.tree.leaves(grads[1])):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)
    # Adam's first step divides by |g|: on near-zero gradients float rounding shows, so an
    # absolute bound well under the step's size (lr / (warmup + 1) = 3e-4 here)
    for a, b in zip(jax.tree.leaves(updates[0]), jax.tree.leaves(updates[1])):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_muon_axes_follow_the_weight_letters():
    x = lambda *shape: jnp.zeros(shape)
    path = lambda *keys: tuple(jax.tree_util.DictKey(k) for k in keys)
    assert muon_dims(path("blocks", "0", "attn", "wqkv_DKJH"), x(32, 4, 3, 8)) == ((0,), (1, 3))
    assert muon_dims(path("blocks", "0", "attn", "wo_NHD"), x(4, 8, 32)) == ((0, 1), (2,))
    assert muon_dims(path("blocks", "0", "mlp", "w_in_DF"), x(32, 128)) == ((0,), (1,))
    assert muon_dims(path("wte_VD"), x(40, 32)) is None                 # embeddings: AdamW
    assert muon_dims(path("blocks", "0", "norm_attn", "scale_D"), x(32)) is None


def test_muon_orthogonalises_block_matrices_and_leaves_the_rest_to_adamw():
    run = tiny_config(optimizer="muon", warmup_iters=0, lr=1e-3, muon_lr=0.02)
    _, state = init_state(run)
    grads = jax.tree.map(lambda p: jax.random.normal(jax.random.key(1), p.shape), state.params)
    with jax.numpy_dtype_promotion("standard"):
        muon, _ = make_optimizer(run.train).update(grads, state.opt_state, state.params)
        adamw_run = run.replace(optimizer="adamw")
        adamw, _ = make_optimizer(adamw_run.train).update(
            grads, make_optimizer(adamw_run.train).init(state.params), state.params)
    w_in = muon["blocks"][0]["mlp"]["w_in_DF"][...]
    s = np.linalg.svd(np.asarray(w_in), compute_uv=False)
    assert s.max() / s.min() < 2.5          # Newton-Schulz: every direction moves about equally
    g = np.linalg.svd(np.asarray(grads["blocks"][0]["mlp"]["w_in_DF"][...]), compute_uv=False)
    assert g.max() / g.min() > 3            # ... which the raw gradient's did not
    np.testing.assert_allclose(muon["wte_VD"][...], adamw["wte_VD"][...], rtol=1e-6)


def test_z_loss_is_mean_squared_log_normaliser_and_ignores_nothing_cross_entropy_ignores():
    logits_BTV = jax.random.normal(jax.random.key(0), (2, 3, 5))
    targets_BT = jnp.zeros((2, 3), jnp.int32)
    shifted_BTV = logits_BTV + 4.0                   # same probabilities, larger log Z
    np.testing.assert_allclose(cross_entropy(shifted_BTV, targets_BT), cross_entropy(logits_BTV, targets_BT), rtol=1e-5)
    want = np.mean(np.log(np.exp(np.asarray(shifted_BTV)).sum(-1)) ** 2)
    np.testing.assert_allclose(z_loss(shifted_BTV), want, rtol=1e-5)
    assert float(z_loss(shifted_BTV)) > float(z_loss(logits_BTV))
    normalised = jax.nn.log_softmax(logits_BTV)       # log Z = 0 exactly
    assert float(z_loss(normalised)) < 1e-10


def test_z_loss_enters_the_objective_only():
    run = tiny_config(z_loss=0.5)
    graphdef, state = init_state(run)
    x_BT = jax.random.randint(jax.random.key(0), (4, 16), 0, 40)
    trainer = Trainer(run, graphdef, DATA)
    objective, (ce, _) = trainer.loss_and_aux(state.params, x_BT, x_BT, None)
    logits = trainer.model(state.params)(x_BT)
    np.testing.assert_allclose(objective, ce + 0.5 * z_loss(logits), rtol=1e-5)


def test_update_ratios_and_norms_group_by_layer():
    params = {"blocks": [{"w": jnp.full((2, 2), 2.0)}, {"w": jnp.ones(3)}], "wte_VD": jnp.ones((4,))}
    assert monitor.group_names(params) == ["blocks.0", "blocks.1", "wte_VD"]
    np.testing.assert_allclose(monitor.group_norms(params), [4.0, np.sqrt(3), 2.0], rtol=1e-6)
    updates = jax.tree.map(lambda p: 0.01 * p, params)
    np.testing.assert_allclose(monitor.update_ratios(updates, params), [0.01] * 3, rtol=1e-5)


def test_a_spike_is_a_loss_above_k_times_the_running_median():
    losses = [2.0] * 20 + [50.0] + [2.0] * 5           # one earlier spike does not raise the bar
    assert monitor.is_spike(losses, 4.1, factor=2.0, window=10)
    assert not monitor.is_spike(losses, 3.9, factor=2.0, window=10)
    assert not monitor.is_spike([2.0] * 5, 100.0, factor=2.0, window=50)    # too little history


def test_history_holds_monitoring_and_the_run_keeps_last_n_and_best(tmp_path):
    run = tiny_config(max_iters=40, eval_interval=10, keep_last=2, keep_best=True, lr=3e-3)
    h = train(run, DATA, out_dir=tmp_path, progress=None, log_interval=5).history
    json.dumps(h)
    assert h["layers"] == ["blocks.0", "blocks.1", "norm_out", "wpe_TD", "wte_VD"]
    assert [m["step"] for m in h["monitor"]] == list(range(5, 41, 5))
    for m in h["monitor"]:
        assert len(m["layer_grad_norm"]) == len(m["update_ratio"]) == 5
        assert all(0 < r < 1 for r in m["update_ratio"]) and all(g > 0 for g in m["layer_grad_norm"])
    assert all(len(e["max_attention_logit"]) == 2 for e in h["eval"])
    assert h["spikes"] == []                         # a healthy run
    assert keep.kept_steps(tmp_path) == [30, 40]
    best = min(h["eval"], key=lambda e: e["val_loss"])["step"]
    assert int(ckpt.read(tmp_path / keep.BEST)[1]["step"]) == best
    assert not list(tmp_path.glob(".*tmp"))


def test_prune_keeps_the_newest_and_is_best_compares_with_every_earlier_eval(tmp_path):
    for step in (5, 10, 100, 20):
        (tmp_path / keep.last_name(step)).write_bytes(b"x")
    (tmp_path / "ckpt_step7.safetensors").write_bytes(b"snapshot")   # not ours to delete
    assert keep.prune_last(tmp_path, 2) == [5, 10]
    assert keep.kept_steps(tmp_path) == [20, 100] and (tmp_path / "ckpt_step7.safetensors").exists()
    evals = [{"val_loss": 2.0}, {"val_loss": 1.5}]
    assert keep.is_best(evals, 1.4) and not keep.is_best(evals, 1.6) and keep.is_best([], 9.0)


def test_bench_recipe_reruns_its_cheapest_point(shakespeare):
    from rawweights_jax.bench.recipe import bench_recipe
    out = bench_recipe(iters=8, names=("cosine",), quiet=True)
    (row,) = out["runs"]
    assert row["name"] == "cosine" and row["ms_per_step"] > 0 and not row["diverged"]
    assert 0 < row["final_train_loss"] < 5 and row["monitor"]["records"]
    committed = json.loads((Path(__file__).parents[1] / RESULT).read_text())   # what the page reads
    assert set(row) == set(committed["runs"][0]) and committed["runs"][0]["name"] == "cosine"
    assert {"device", "date", "command", "commit"} <= set(committed)
    with pytest.raises(ValueError, match="unknown recipe run\\(s\\) sgd"):
        bench_recipe(iters=8, names=("sgd",), quiet=True)
