import pytest

from rawweights_jax.config import PRESETS, Config, preset


def test_cpu_preset_is_nanogpts_cpu_configuration():
    c = preset("shakespeare-char-cpu")
    assert (c.n_layers, c.n_heads, c.d_model, c.context_len, c.batch_size) == (4, 4, 128, 64, 12)
    assert (c.max_iters, c.lr, c.min_lr, c.warmup_iters) == (2000, 1e-3, 1e-4, 100)
    assert (c.beta2, c.weight_decay, c.grad_clip, c.dropout) == (0.99, 0.1, 1.0, 0.0)
    assert c.lr_decay_iters == 2000 and c.tokens_per_iter == 768


def test_gpu_presets():
    c = preset("shakespeare-char")
    assert (c.n_layers, c.n_heads, c.d_model, c.context_len, c.batch_size, c.dropout,
            c.max_iters) == (6, 6, 384, 256, 64, 0.2, 5000)
    g = preset("gpt2-small")
    assert (g.n_layers, g.n_heads, g.d_model, g.context_len, g.bias) == (12, 12, 768, 1024, True)


def test_derived_fields():
    c = Config(d_model=96, n_heads=6)
    assert (c.n_kv_heads, c.head_dim, c.d_ff) == (6, 16, 384)
    assert c.replace(d_model=192).head_dim == 32          # re-derived when its source changes
    assert c.replace(d_model=192, head_dim=8).head_dim == 8


@pytest.mark.parametrize("field, value, expected", [
    ("n_layers", 0, "positive integer"), ("n_layers", 2.5, "positive integer"),
    ("dropout", 1.0, "[0, 1)"), ("lr", -1.0, "> 0"), ("attention", "flash", "one of"),
    ("n_kv_heads", 3, "divisor of n_heads"), ("min_lr", 1.0, "at most lr"),
    ("bias", "yes", "True or False"), ("compute_dtype", "float16", "one of"),
])
def test_bad_values_name_the_field_and_expectation(field, value, expected):
    with pytest.raises(ValueError) as err:
        Config(**{field: value})
    assert f"Config.{field}={value!r}" in str(err.value) and expected in str(err.value)


def test_unknown_fields_and_presets():
    with pytest.raises(ValueError, match="unknown Config field.*n_layer\\b"):
        Config.from_dict({"n_layer": 4})
    with pytest.raises(ValueError, match="unknown preset 'gpt5'.*shakespeare-char-cpu"):
        preset("gpt5")
    with pytest.raises(ValueError, match="unknown Config field"):
        preset("shakespeare-char-cpu").replace(layers=3)


def test_json_round_trip_and_frozen():
    for c in PRESETS.values():
        assert Config.from_dict(c.to_dict()) == c
    with pytest.raises(Exception):
        c.n_layers = 3
