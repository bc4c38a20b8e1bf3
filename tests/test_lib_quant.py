"""Quantized weights (nn/quant.py, inference/quant.py): round-trip error bounds, exact int4
packing, `dense` on a quantized weight equals `dense` on its dequantized copy, the model's
logits stay close, checkpoints round-trip, sharding, the CLI's errors, and an HF-loaded model."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from _lib_support import forward, tiny_config
from rawweights_jax.ckpt.checkpoint import (LATEST, CheckpointError, load_model,
                                            load_train_state, read, save)
from rawweights_jax.data.tokenizer import CharTokenizer
from rawweights_jax.inference.generate import cached_logits, generate
from rawweights_jax.inference.quant import layer_errors, quantize_checkpoint, val_loss
from rawweights_jax.model.gpt import init_model
from rawweights_jax.nn.dense import dense
from rawweights_jax.nn.quant import (QuantizedWeight, dequantize, pack_int4, quantize,
                                     quantize_model, unpack_int4, weight_bytes)
from rawweights_jax.parallel.mesh import device_mesh
from rawweights_jax.parallel.sharding import shard_model

CHARS = "".join(chr(c) for c in range(32, 72))      # 40 characters, the tiny vocabulary


def random(shape, seed=0):
    return jax.random.normal(jax.random.key(seed), shape) * 0.02


@pytest.mark.parametrize("bits, group", [(8, None), (4, 32), (4, 64)])
def test_round_trip_error_is_within_half_a_step(bits, group):
    w = random((128, 4, 24))
    q = quantize(w, bits, group)
    assert q.bits == bits and q.shape == w.shape
    # each weight is off by at most half of its scale (one quantization step)
    scale = q.scale if bits == 8 else jnp.repeat(q.scale, group, axis=0)
    assert bool(jnp.all(jnp.abs(dequantize(q) - w).reshape(128, 96) <= scale / 2 + 1e-7))
    rel = float(jnp.linalg.norm(dequantize(q) - w) / jnp.linalg.norm(w))
    assert rel < (0.01 if bits == 8 else 0.15), rel


def test_bytes_per_weight():
    w = random((256, 512))
    assert quantize(w, 8).q.nbytes == 256 * 512
    q4 = quantize(w, 4, 32)
    assert q4.q.shape == (128, 512) and q4.q.nbytes == 256 * 512 // 2
    assert q4.scale.shape == (8, 512)


def test_int4_packing_is_exact():
    q = jnp.asarray(np.random.default_rng(0).integers(-8, 8, (3, 32, 5)), jnp.int8)
    packed = pack_int4(q)
    assert packed.shape == (3, 16, 5) and packed.dtype == jnp.int8
    np.testing.assert_array_equal(np.asarray(unpack_int4(packed)), np.asarray(q))


def test_extremes_and_zero_columns():
    w = random((64, 8)).at[:, 3].set(0.0).at[5, 0].set(-1.0)
    for bits, group in ((8, None), (4, 32)):
        d = dequantize(quantize(w, bits, group))
        assert float(d[5, 0]) == pytest.approx(-1.0, abs=1e-6)    # the largest is exact
        assert not bool(jnp.any(d[:, 3]))                          # zeros stay zero, no NaN


@pytest.mark.parametrize("bits, group, contract", [(8, None, 1), (8, None, 2), (4, 32, 1), (4, 32, 2)])
def test_dense_on_a_quantized_weight_is_dense_on_its_dequantized_copy(bits, group, contract):
    w = random((4, 16, 24)) if contract == 2 else random((64, 6, 4))
    x = random((2, 3, *w.shape[:contract]), seed=1)
    q = quantize(w, bits, group, contract)
    got, want = dense(x, q, contract), dense(x, dequantize(q), contract)
    assert got.shape == want.shape == (2, 3, *w.shape[contract:])
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="contracted axes"):
        dense(x.reshape(2, 3, -1) if contract == 2 else x, q, 3 - contract)


@pytest.mark.parametrize("rows", [1, 5])
def test_int8_activations_round_each_row_and_multiply_integers(rows):
    w = random((64, 3, 8))
    x = random((rows, 64), seed=2).at[0, 3].set(0.5)       # one outlier sets row 0's scale
    q = quantize(w, 8, act_bits=8)
    got = dense(x, q)
    xs = jnp.abs(x).max(1, keepdims=True) / 127
    want = dense(jnp.round(x / xs) * xs, dequantize(q))   # what rounding the rows to int8 means
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6)
    exact = dense(x, dequantize(q))
    assert float(jnp.linalg.norm(got - exact) / jnp.linalg.norm(exact)) < 0.05
    assert got.shape == (rows, 3, 8)
    with pytest.raises(ValueError, match="int8 activations"):
        quantize(w, 4, 32, act_bits=8)


@pytest.mark.parametrize("bits, group, message", [
    (3, None, "bits=3: expected one of 8, 4"), (4, 48, "group=48: expected one of"),
    (8, 32, "int8 has one scale per output channel")])
def test_bad_settings_are_refused(bits, group, message):
    with pytest.raises(ValueError, match=message):
        quantize(random((64, 8)), bits, group)


def test_group_must_divide_the_contracted_rows():
    model = init_model(tiny_config(d_model=48, n_heads=4).model)
    with pytest.raises(ValueError, match="group=32 does not divide the 48 contracted rows of blocks.0.attn.wo_NHD"):
        quantize_model(model, 4, 32)


def test_model_logits_stay_close_and_the_model_is_the_same_class():
    model = init_model(tiny_config().model)
    tokens = jnp.asarray(np.random.default_rng(0).integers(0, 40, (2, 16)))
    ref = forward(model, tokens)
    for bits, group, tol in ((8, None, 0.02), (4, 32, 0.15)):
        qmodel = quantize_model(model, bits, group)
        assert type(qmodel) is type(model)
        assert isinstance(qmodel.blocks[0].mlp.w_in_DF[...], QuantizedWeight)
        assert qmodel.wte_VD[...].dtype == jnp.float32          # the embedding stays float
        got = forward(qmodel, tokens)
        rel = float(jnp.linalg.norm(got - ref) / jnp.linalg.norm(ref))
        assert rel < tol, (bits, rel)
    params = lambda m: nnx.state(m, nnx.Param)
    assert weight_bytes(params(quantize_model(model, 4, 32))) < weight_bytes(
        params(quantize_model(model, 8))) < weight_bytes(params(model))


def test_quantized_model_decodes_with_the_cache_and_split_over_devices():
    model = quantize_model(init_model(tiny_config().model), 8)
    toks, logits = cached_logits(model, [1, 2, 3], 6)
    full = forward(model, jnp.asarray([[1, 2, 3, *np.asarray(toks)[:-1].tolist()]]))
    np.testing.assert_allclose(np.asarray(logits), np.asarray(full[0, 2:]), atol=1e-4)
    mesh = device_mesh()
    if mesh is not None:
        shard_model(model, mesh)
    assert generate(model, [[1, 2]], 5, temperature=0.0, mesh=mesh)[0] == np.asarray(
        cached_logits(model, [1, 2], 5)[0]).tolist()


def _float_checkpoint(path, **changes):
    run = tiny_config(**changes)
    model = init_model(run.model)
    return save(path / LATEST, run, nnx.state(model, nnx.Param), {}, 7, jax.random.key_data(
        jax.random.key(0)), CHARS, {"val_loss": [2.5]}), model


@pytest.mark.parametrize("bits, group, act_bits", [(8, None, None), (4, 64, None), (8, None, 8)])
def test_checkpoint_round_trip(tmp_path, bits, group, act_bits):
    _, model = _float_checkpoint(tmp_path / "f32", d_model=64)
    out = quantize_checkpoint(tmp_path / "f32", tmp_path / "q", bits, group, act_bits)
    loaded, tok, run, meta = load_model(out)
    assert json.loads(meta["quant"]) == {"bits": bits, "group": group, "act_bits": act_bits}
    assert meta["step"] == "7" and loaded.blocks[0].mlp.w_in_DF[...].act_bits == act_bits
    want = quantize_model(model, bits, group, act_bits)
    leaves = lambda m: jax.tree.leaves(nnx.state(m, nnx.Param))
    for a, b in zip(leaves(loaded), leaves(want), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert tok.vocab_size == 40
    with pytest.raises(ValueError, match="exists"):
        quantize_checkpoint(tmp_path / "f32", tmp_path / "q", bits, group)
    with pytest.raises(CheckpointError, match="already quantized"):
        quantize_checkpoint(tmp_path / "q", tmp_path / "qq", bits, group)
    with pytest.raises(CheckpointError, match="training cannot resume"):
        load_train_state(out, run, None)
    # a float checkpoint, as written before quantization existed, still loads as float
    tensors, meta = read(tmp_path / "f32")
    assert "quant" not in meta and load_model(tmp_path / "f32")[0].wte_VD[...].dtype == jnp.float32


def test_val_loss_and_layer_errors():
    model = init_model(tiny_config().model)
    val = np.random.default_rng(0).integers(0, 40, 500).astype(np.int32)
    q8, q4 = quantize_model(model, 8), quantize_model(model, 4, 32)
    base = val_loss(model, val, 16, count=32, batch=16)
    assert abs(val_loss(q8, val, 16, count=32, batch=16) - base) < 0.01
    e8, e4 = layer_errors(model, q8), layer_errors(model, q4)
    assert set(e8) == set(e4) and "blocks.0.attn.wqkv_DKJH" in e8
    assert all(0 < e8[k] < e4[k] < 0.2 for k in e8)


def rawweights(*args):
    return subprocess.run([sys.executable, "-m", "rawweights_jax.cli", *args], capture_output=True,
                          text=True, timeout=600, env={**os.environ})


def test_cli_quantize_then_generate_and_bad_input(tmp_path):
    _float_checkpoint(tmp_path / "f32", d_model=32)
    _float_checkpoint(tmp_path / "odd", d_model=48, n_heads=4)
    for args, message in [
        (["--bits", "3"], "bits=3: expected one of 8, 4"),
        (["--bits", "4", "--group", "48"], "group=48: expected one of"),
        (["--bits", "8", "--group", "32"], "int8 has one scale per output channel"),
        (["--bits", "4", "--int8-activations"], "go with int8 weights only"),
        (["--bits", "4", "--ckpt", str(tmp_path / "odd")], "does not divide the 48 contracted rows"),
        (["--bits", "8", "--ckpt", str(tmp_path / "nowhere")], "no checkpoint at"),
        (["--bits", "8", "--out", str(tmp_path / "f32")], "exists"),
    ]:
        args = ["--ckpt", str(tmp_path / "f32"), "--out", str(tmp_path / "new"), *args]
        r = rawweights("quantize", *args)
        assert r.returncode == 2, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and message in r.stderr, r.stderr
    r = rawweights("quantize", "--ckpt", str(tmp_path / "f32"), "--bits", "4", "--out", str(tmp_path / "q4"))
    assert r.returncode == 0 and "saved" in r.stdout, r.stderr
    r = rawweights("generate", "--ckpt", str(tmp_path / "q4"), "--prompt", "AB", "--max-new-tokens", "8")
    assert r.returncode == 0 and r.stdout.startswith("AB"), r.stderr


def test_a_model_loaded_from_hugging_face_quantizes(tmp_path):
    transformers = pytest.importorskip("transformers", reason="needs the hf extra")
    import torch
    from rawweights_jax.families.hf_weights import load_hf
    from rawweights_jax.families.tiny import TINY_HF
    torch.manual_seed(0)      # the tiny llama, widened to 64 so that int4 groups of 32 divide it
    config = transformers.AutoConfig.for_model(**{**TINY_HF["llama"], "hidden_size": 64,
                                                  "num_attention_heads": 4, "intermediate_size": 128})
    ref = transformers.AutoModelForCausalLM.from_config(config).float().eval()
    ref.save_pretrained(tmp_path)
    model = load_hf(tmp_path)
    tokens = jnp.asarray(np.random.default_rng(1).integers(0, 65, (1, 24)))
    want = forward(model, tokens)
    for bits, group, tol in ((8, None, 0.02), (4, 32, 0.2)):
        qmodel = quantize_model(model, bits, group)
        assert isinstance(qmodel.blocks[0].attn.wqkv_DKJH[...], QuantizedWeight)
        got = forward(qmodel, tokens)
        assert float(jnp.linalg.norm(got - want) / jnp.linalg.norm(want)) < tol


def test_bench_quant_reports_every_key_on_a_short_run(shakespeare, tmp_path):
    from rawweights_jax.bench.quant import bench_quant
    from rawweights_jax.config import preset
    run = preset("shakespeare-char-cpu")
    model = init_model(run.model)
    save(tmp_path / LATEST, run, nnx.state(model, nnx.Param), {}, 0, jax.random.key_data(
        jax.random.key(0)), shakespeare.tokenizer.chars, {})
    out = bench_quant(tmp_path, new_tokens=4, rounds=1, quiet=True, preset_name="shakespeare-char-cpu")
    for v in ("f32", "bf16", "int8", "int4", "w8a8"):
        for b in (1, 8):
            assert out[f"{v}_b{b}_tokens_per_second"] > 0
        assert out[f"{v}_val_loss"] > 0
    assert out["f32_weight_bytes"] > out["int8_weight_bytes"] > out["int4_weight_bytes"]
    assert 0 < out["bandwidth_limit_fraction"] and out["weight_stream_limit_steps_per_second"] > 0
    assert set(out["int4_layer_output_error"]) == set(out["int8_layer_output_error"])
