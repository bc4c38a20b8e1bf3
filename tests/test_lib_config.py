"""Configs: presets as published, derived fields, errors that name the field, the split between
model, recipe and runtime, and JSON round trips."""

import pytest

from rawweights_jax.config import PRESETS, ModelConfig, RunConfig, Runtime, TrainConfig, preset
from rawweights_jax.config.base import fields_of


def test_cpu_preset_is_nanogpts_cpu_configuration():
    m, t = preset("shakespeare-char-cpu").model, preset("shakespeare-char-cpu").train
    assert (m.n_layers, m.n_heads, m.d_model, m.context_len, t.batch_size) == (4, 4, 128, 64, 12)
    assert (t.max_iters, t.lr, t.min_lr, t.warmup_iters) == (2000, 1e-3, 1e-4, 100)
    assert (t.beta2, t.weight_decay, t.grad_clip, t.dropout) == (0.99, 0.1, 1.0, 0.0)
    assert t.lr_decay_iters == 2000 and preset("shakespeare-char-cpu").tokens_per_iter == 768


def test_gpu_presets():
    c = preset("shakespeare-char")
    assert (c.model.n_layers, c.model.n_heads, c.model.d_model, c.model.context_len,
            c.train.batch_size, c.train.dropout, c.train.max_iters) == (6, 6, 384, 256, 64, 0.2, 5000)
    g = preset("gpt2-small").model
    assert (g.n_layers, g.n_heads, g.d_model, g.context_len, g.bias) == (12, 12, 768, 1024, True)


def test_the_split_keeps_the_recipe_and_the_kernels_out_of_the_model():
    model, train, runtime = set(fields_of(ModelConfig)), set(fields_of(TrainConfig)), set(fields_of(Runtime))
    assert not (model & train) and not (model & runtime) and not (train & runtime)
    assert {"lr", "batch_size", "seed", "dropout", "compute_dtype", "aux_loss_coef"} <= train
    assert {"attention", "moe_dispatch"} == runtime
    run = preset("shakespeare-char-cpu").replace(max_iters=300, n_layers=2)   # routed by field
    assert (run.model.n_layers, run.train.max_iters, run.train.lr_decay_iters) == (2, 300, 300)


def test_derived_fields():
    c = ModelConfig(d_model=96, n_heads=6)
    assert (c.n_kv_heads, c.head_dim, c.d_ff) == (6, 16, 384)
    assert c.replace(d_model=192).head_dim == 32          # re-derived when its source changes
    assert c.replace(d_model=192, head_dim=8).head_dim == 8
    assert ModelConfig(n_layers=3, n_experts=4).mlp_layers == ("moe",) * 3


@pytest.mark.parametrize("cls, field, value, expected", [
    (ModelConfig, "n_layers", 0, "positive integer"), (ModelConfig, "n_layers", 2.5, "positive integer"),
    (TrainConfig, "dropout", 1.0, "[0, 1)"), (TrainConfig, "lr", -1.0, "> 0"),
    (Runtime, "attention", "flash", "one of"), (ModelConfig, "n_kv_heads", 3, "divisor of n_heads"),
    (TrainConfig, "min_lr", 1.0, "at most lr"), (ModelConfig, "bias", "yes", "True or False"),
    (TrainConfig, "compute_dtype", "float16", "one of"),
    (ModelConfig, "n_heads", 0, "positive integer"),            # was a ZeroDivisionError
    (ModelConfig, "n_layers", 10**9, "<= 10,000"),              # was out of memory
    (ModelConfig, "d_model", 10**30, "< 2**31"),               # was an OverflowError
    (ModelConfig, "mlp_layers", ("dense", "moe", "dense", "dense"), "n_experts=0"),
])
def test_bad_values_name_the_field_and_expectation(cls, field, value, expected):
    with pytest.raises(ValueError) as err:
        cls(**{field: value})
    assert f"{cls.__name__}.{field}=" in str(err.value) and expected in str(err.value)
    assert len(str(err.value)) < 200


def test_unknown_fields_and_presets():
    with pytest.raises(ValueError, match="unknown ModelConfig field.*n_layer\\b"):
        ModelConfig.from_dict({"n_layer": 4})
    with pytest.raises(ValueError, match="unknown preset 'gpt5'.*shakespeare-char-cpu"):
        preset("gpt5")
    with pytest.raises(ValueError, match="unknown ModelConfig or TrainConfig field.*layers"):
        preset("shakespeare-char-cpu").replace(layers=3)


def test_json_round_trip_and_frozen():
    import json
    for c in PRESETS.values():
        assert RunConfig.from_dict(json.loads(c.to_json())) == c
    with pytest.raises(Exception):
        c.model.n_layers = 3
