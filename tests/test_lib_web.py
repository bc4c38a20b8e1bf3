"""`rawweights export-web`: the browser bundle holds the checkpoint's weights bit for bit (float32)
or rounded once (float16), a manifest that says where each tensor is, JAX's own reference
logits and greedy text for those weights; bad checkpoints and output folders are named."""

import hashlib
import json

import numpy as np
import pytest
from flax import nnx

from _lib_support import tiny_config, tiny_data
from rawweights_jax.ckpt import checkpoint as ckpt
from rawweights_jax.inference.generate import generate
from rawweights_jax.inference.quant import quantize_checkpoint
from rawweights_jax.train.loop import train
from rawweights_jax.web import export as web

DATA = tiny_data()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    train(tiny_config(max_iters=20), DATA, out_dir=out, progress=None)
    return out


@pytest.fixture(scope="module", params=["float32", "float16"])
def bundle(request, trained, tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / request.param
    manifest = web.export_web(trained, out, dtype=request.param, continuation=40)
    return out, manifest, request.param


def params_of(model):
    return {web.tensor_name(k): v for k, v in ckpt.flatten("params", nnx.state(model, nnx.Param)).items()}


def test_the_bundle_round_trips_the_checkpoint(trained, bundle):
    out, manifest, dtype = bundle
    original = params_of(ckpt.load_model(trained)[0])
    model, tok, read_manifest = web.load_bundle(out)
    again = params_of(model)
    assert read_manifest == manifest and set(again) == set(original)
    for name, x in original.items():   # exact for float32; float16 is one rounding, widened back
        np.testing.assert_array_equal(again[name], x.astype(dtype).astype(np.float32), err_msg=name)
    assert tok.chars == DATA.tokenizer.chars


def test_the_manifest_says_where_every_tensor_lies(trained, bundle):
    out, manifest, dtype = bundle
    weights = (out / "weights.bin").read_bytes()
    _, tok, run, meta = ckpt.load_model(trained)
    assert manifest["format"] == web.FORMAT and manifest["dtype"] == dtype
    assert manifest["model"] == json.loads(run.model.to_json()) and "".join(manifest["vocab"]) == tok.chars
    assert manifest["weights"] == {"file": "weights.bin", "bytes": len(weights),
                                   "sha256": hashlib.sha256(weights).hexdigest()}
    assert manifest["source"]["step"] == 20 and manifest["source"]["sha256"] == meta["sha256"]
    end = 0
    for t in manifest["tensors"]:   # in order, aligned, not overlapping, sized by shape and dtype
        assert t["offset"] % web.ALIGN == 0 and t["offset"] >= end and t["dtype"] == dtype
        assert t["bytes"] == int(np.prod(t["shape"])) * np.dtype(dtype).itemsize
        end = t["offset"] + t["bytes"]
    assert end == len(weights)
    names = [t["name"] for t in manifest["tensors"]]
    assert names[:2] == ["wte_VD", "wpe_TD"] and names[-1] == "norm_out/scale_D"
    assert sorted(p.name for p in out.iterdir()) == sorted(web.FILES)


def test_the_reference_is_what_jax_computes_from_the_bundle(bundle):
    out, manifest, dtype = bundle
    model, tok, _ = web.load_bundle(out)
    reference = json.loads((out / "reference.json").read_text())
    prompts = [p["text"] for p in reference["prompts"]]
    assert len(prompts) >= 3 and max(map(len, prompts)) == manifest["model"]["context_len"]
    for p in reference["prompts"]:
        logits = np.asarray(model(np.asarray([tok.encode(p["text"])], np.int32)))[0, -1]
        np.testing.assert_allclose(p["logits"], logits, rtol=0, atol=1e-5)
    greedy = reference["greedy"]
    text = tok.decode(generate(model, [tok.encode(greedy["prompt"])], 40, temperature=0.0)[0])
    assert greedy["text"] == text and len(text) == 40 and greedy["new_tokens"] == 40
    rounding = reference["rounding"]
    assert rounding["dtype"] == dtype and rounding["prompts"] == len(prompts)
    if dtype == "float32":
        assert rounding["max_abs_logit_change"] == 0 and rounding["greedy_chars_equal_to_float32"] == 40
    else:
        assert 0 < rounding["max_abs_logit_change"] < 0.05


def test_exporting_again_replaces_an_earlier_bundle(trained, tmp_path):
    out = tmp_path / "b"
    web.export_web(trained, out, dtype="float32", continuation=4)
    web.export_web(trained, out, dtype="float16", continuation=4)
    assert json.loads((out / "manifest.json").read_text())["dtype"] == "float16"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]     # no temporary folder left


def test_bad_output_folders_are_named(trained, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(web.ExportError, match="is a file"):
        web.export_web(trained, tmp_path / "file")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(web.ExportError, match=r"holds other files \(notes.txt\)"):
        web.export_web(trained, tmp_path / "busy")
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"
    with pytest.raises(web.ExportError, match="dtype 'bfloat16'"):
        web.export_web(trained, tmp_path / "new", dtype="bfloat16")


def test_bad_checkpoints_are_named(trained, tmp_path):
    with pytest.raises(ckpt.CheckpointError, match="no checkpoint at"):
        web.export_web(tmp_path / "nowhere", tmp_path / "out")
    (tmp_path / "junk.safetensors").write_bytes(b"garbage")
    with pytest.raises(ckpt.CheckpointError, match="not a readable checkpoint"):
        web.export_web(tmp_path / "junk.safetensors", tmp_path / "out")
    quantize_checkpoint(trained, tmp_path / "q8", 8)
    with pytest.raises(web.ExportError, match="quantized weights"):
        web.export_web(tmp_path / "q8", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_architecture_the_browser_lacks_is_refused_by_name(tmp_path):
    run = tiny_config(max_iters=2, position="rope", norm="rmsnorm", mlp="geglu", qk_norm=True)
    train(run, DATA, out_dir=tmp_path / "gemma-ish", progress=None)
    assert web.unsupported(run.model) == [
        "mlp='geglu' (the browser model implements 'gelu' or 'swiglu')",
        "qk_norm=True (the browser model implements False)"]
    with pytest.raises(web.ExportError, match="cannot run this architecture: mlp='geglu'"):
        web.export_web(tmp_path / "gemma-ish", tmp_path / "out")
    assert web.unsupported(tiny_config(bias=True, tie_embeddings=False, n_kv_heads=2).model) == []
    llama = tiny_config(position="rope", norm="rmsnorm", mlp="swiglu", n_kv_heads=2, tie_embeddings=False)
    assert web.unsupported(llama.model) == []


def test_the_command_writes_a_bundle_and_names_bad_input_in_one_line(trained, tmp_path):
    from test_lib_cli import rawweights

    r = rawweights("export-web", "--ckpt", str(trained), "--out", str(tmp_path / "b"), "--dtype", "float32")
    assert r.returncode == 0 and "bytes of float32 weights (step 20)" in r.stdout, r.stderr
    assert (tmp_path / "b" / "weights.bin").is_file()
    for args, message in [(["--ckpt", str(tmp_path / "nowhere"), "--out", str(tmp_path / "c")], "no checkpoint at"),
                          (["--ckpt", str(trained), "--out", str(trained)], "holds other files")]:
        r = rawweights("export-web", *args)
        assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
