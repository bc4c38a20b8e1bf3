"""Pruning (inference/prune.py): exact sparsity of every mask, the 2:4 pattern in every group,
the largest magnitudes kept, a fine-tune that keeps zeros at zero, sparsity 0 equal to the dense
model, clear errors for bad input, and `benchmarks/prune.py`'s cheapest point against the
committed result file."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from _lib_support import forward, tiny_config, tiny_data
from _site_support import REPO
from rawweights_jax.core.names import leaf_name, weight_name
from rawweights_jax.inference.prune import (PRUNABLE, apply_masks, finetune, finetune_trainer,
                                            magnitude_masks, n_of_m_mask, n_of_m_masks,
                                            prune_model, sparsity)
from rawweights_jax.inference.quant import val_loss
from rawweights_jax.model.gpt import init_model
from test_site_budget import committed_result, run_benchmark

SNIPPET = "inference/prune_results.py"   # reads the committed result file


def params_of(**changes):
    return nnx.state(init_model(tiny_config(**changes).model), nnx.Param)


def leaves(tree):
    """{name: array} of a parameter (or mask) tree."""
    return {weight_name(p).removesuffix(".value"): np.asarray(x)
            for p, x in jax.tree_util.tree_flatten_with_path(tree)[0]}


def is_prunable(name: str) -> bool:
    return leaf_name(name.split(".")) in PRUNABLE


@pytest.mark.parametrize("s", [0.0, 0.3, 0.5, 0.9])
def test_per_matrix_masks_zero_exactly_their_share_of_the_smallest_weights(s):
    params = params_of()
    w, keep = leaves(params), leaves(magnitude_masks(params, s))
    assert any(is_prunable(k) for k in w)
    for name, m in keep.items():
        if not is_prunable(name):               # embeddings, norms: whole
            assert m.all(), name
            continue
        assert (~m).sum() == round(s * m.size), name
        if 0 < s:                               # every kept weight is at least every pruned one
            assert np.abs(w[name][m]).min() >= np.abs(w[name][~m]).max(), name
    pruned = apply_masks(params, magnitude_masks(params, s))
    assert sparsity(pruned)["prunable"] == pytest.approx(s, abs=1e-3)


def test_global_masks_share_one_threshold_across_matrices():
    params = params_of()
    loud = "blocks.0.mlp.w_in_DF"
    params = jax.tree_util.tree_map_with_path(       # one matrix ten times larger than the rest
        lambda p, x: x * 10 if weight_name(p).startswith(loud) else x, params)
    w, keep = leaves(params), leaves(magnitude_masks(params, 0.6, scope="global"))
    names = [k for k in w if is_prunable(k)]
    total = sum(w[k].size for k in names)
    assert sum((~keep[k]).sum() for k in names) == round(0.6 * total)
    kept = np.concatenate([np.abs(w[k][keep[k]]) for k in names])
    gone = np.concatenate([np.abs(w[k][~keep[k]]) for k in names])
    assert kept.min() >= gone.max()
    assert (~keep[loud]).mean() < 0.1                 # the loud matrix keeps nearly all,
    quiet = [k for k in names if k != loud]           # so the others lose more than 60%
    assert sum((~keep[k]).sum() for k in quiet) / sum(keep[k].size for k in quiet) > 0.6


def test_ties_still_give_the_exact_count():
    keep = magnitude_masks({"w_in_DF": jnp.ones((8, 6))}, 0.25)["w_in_DF"]
    assert int((~keep).sum()) == 12


def reference_2_of_4(w_IO):
    """The 2:4 mask by loops: in each column, each run of 4 rows keeps its 2 largest |w|."""
    keep = np.zeros(w_IO.shape, bool)
    for g in range(0, w_IO.shape[0], 4):
        for o in range(w_IO.shape[1]):
            top = np.argsort(-np.abs(w_IO[g:g + 4, o]), kind="stable")[:2]
            keep[g + top, o] = True
    return keep


def test_2_of_4_keeps_the_two_largest_of_every_group_along_the_contracted_axes():
    params = params_of()
    w, keep = leaves(params), leaves(n_of_m_masks(params))
    for name, m in keep.items():
        if not is_prunable(name):
            assert m.all(), name
            continue
        contract = PRUNABLE[leaf_name(name.split("."))]
        I = int(np.prod(m.shape[:contract]))
        m_IO, w_IO = m.reshape(I, -1), w[name].reshape(I, -1)
        assert (m_IO.reshape(I // 4, 4, -1).sum(axis=1) == 2).all(), name    # 2 in every group
        np.testing.assert_array_equal(m_IO, reference_2_of_4(w_IO), err_msg=name)
    assert sparsity(apply_masks(params, n_of_m_masks(params)))["prunable"] == 0.5


def test_sparsity_zero_is_the_dense_model():
    model = init_model(tiny_config().model)
    same = prune_model(model, magnitude_masks(nnx.state(model, nnx.Param), 0.0))
    tokens = jnp.arange(16)[None] % 40
    np.testing.assert_array_equal(np.asarray(forward(same, tokens)), np.asarray(forward(model, tokens)))
    val_Z = tiny_data().val_Z
    assert val_loss(same, val_Z, 16, count=8, batch=4) == val_loss(model, val_Z, 16, count=8, batch=4)
    assert sparsity(nnx.state(same, nnx.Param))["prunable"] == 0.0


def test_fine_tune_keeps_zeros_at_zero_and_moves_the_rest():
    run, data = tiny_config(), tiny_data()
    model = init_model(run.model)
    pruned = prune_model(model, n_of_m_masks(nnx.state(model, nnx.Param)))
    before = leaves(nnx.state(pruned, nnx.Param))
    trainer = finetune_trainer(run, nnx.graphdef(model), data, steps=6, lr=1e-2)
    tuned, losses = finetune(trainer, pruned)
    after = leaves(nnx.state(tuned, nnx.Param))
    assert len(losses) == 6 and losses[-1] < losses[0]
    for name, w in before.items():
        if is_prunable(name):
            np.testing.assert_array_equal(after[name] == 0, w == 0, err_msg=name)
        assert not np.array_equal(after[name], w), f"{name} did not move"
    np.testing.assert_array_equal(leaves(nnx.state(pruned, nnx.Param))["blocks.0.mlp.w_in_DF"],
                                  before["blocks.0.mlp.w_in_DF"])          # the input is untouched
    # the same trainer serves a dense model: nothing is held at zero there
    dense, _ = finetune(trainer, model)
    assert sparsity(nnx.state(dense, nnx.Param))["prunable"] == 0.0


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, "0.5", True, None])
def test_a_sparsity_outside_zero_to_one_is_refused(bad):
    with pytest.raises(ValueError, match=r"^sparsity=.*expected a fraction in \[0, 1\)$"):
        magnitude_masks(params_of(), bad)


def test_other_bad_input_is_refused_with_what_was_wrong():
    with pytest.raises(ValueError, match="scope='layer': expected one of matrix, global"):
        magnitude_masks(params_of(), 0.5, scope="layer")
    with pytest.raises(ValueError, match="groups of 4 do not divide the 6 contracted rows of weight"):
        n_of_m_mask(jnp.ones((6, 5)))
    with pytest.raises(ValueError, match="groups of 4 do not divide the 30 contracted rows of "
                                         r"blocks\.0\.attn\.wo_NHD"):
        n_of_m_masks(params_of(d_model=30, n_heads=3))
    with pytest.raises(ValueError, match="n=4, m=4: expected integers with 0 < n < m"):
        n_of_m_mask(jnp.ones((8, 2)), 4, 4)
    with pytest.raises(ValueError, match="no prunable matrices"):
        magnitude_masks({"scale_D": jnp.ones(3)}, 0.5, scope="global")
    with pytest.raises(ValueError, match="steps=0: expected a positive integer"):
        finetune_trainer(tiny_config(), nnx.graphdef(init_model(tiny_config().model)), tiny_data(), 0, 1e-4)


@pytest.mark.timeout(600)
def test_the_prune_result_file_is_reproducible(tmp_path, shakespeare):
    """The cheapest point (magnitude pruning to 50%, 20 fine-tuning steps, no timing) on the
    robot student gives the committed loss and the committed fine-tune's first 20 losses (the
    learning rate is constant, so the first steps of a longer fine-tune are a short one)."""
    committed = json.loads((REPO / committed_result(SNIPPET)).read_text())
    assert {"device", "date", "command", "commit"} <= set(committed)
    again = run_benchmark(tmp_path, "prune.py", "--points", "magnitude@0.5", "--steps", "20", "--no-speed")
    assert again["finetune_lr"] == committed["finetune_lr"]
    point, full = again["points"]["magnitude@0.5"], committed["points"]["magnitude@0.5"]
    assert point["sparsity"] == full["sparsity"] == 0.5
    assert point["val_loss"] == pytest.approx(full["val_loss"], abs=2e-3)
    assert point["finetune_loss"] == pytest.approx(full["finetune_loss"][:20], abs=2e-3)
