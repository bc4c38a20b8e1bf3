"""Checkpoints: round trip, and a clear error for every kind of bad file; nothing half-written."""

import os

import jax
import numpy as np
import pytest

from _lib_support import tiny_config, tiny_data
from rawweights_jax.ckpt import checkpoint as ckpt
from rawweights_jax.train.loop import train

DATA = tiny_data()


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = train(tiny_config(max_iters=10), DATA, out_dir=out, snapshot_steps=(5,), progress=None)
    return out, result


def test_round_trip_restores_model_tokenizer_and_config(saved):
    out, result = saved
    model, tok, run, meta = ckpt.load_model(out)
    assert run == tiny_config(max_iters=10) and tok.chars == DATA.tokenizer.chars
    assert int(meta["step"]) == 10 and (out / "ckpt_step5.safetensors").is_file()
    tokens = jax.numpy.zeros((1, 8), jax.numpy.int32)
    np.testing.assert_array_equal(model(tokens), result.model(tokens))
    assert not list(out.glob(".*.tmp"))                       # no temporary files left behind


def _copy(src, tmp_path):
    dst = tmp_path / "ckpt.safetensors"
    dst.write_bytes((src / "ckpt.safetensors").read_bytes())
    return dst


def test_truncated_file(saved, tmp_path):
    path = _copy(saved[0], tmp_path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ckpt.CheckpointError, match="truncated or corrupted"):
        ckpt.load_model(path)


def test_flipped_byte_in_the_weights(saved, tmp_path):
    path = _copy(saved[0], tmp_path)
    raw = bytearray(path.read_bytes())
    raw[-10] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ckpt.CheckpointError, match="corrupted: its tensors or metadata do not match"):
        ckpt.load_model(path)


def test_not_a_checkpoint_and_missing(tmp_path):
    (tmp_path / "x.safetensors").write_bytes(b"hello")
    with pytest.raises(ckpt.CheckpointError, match="not a readable checkpoint"):
        ckpt.load_model(tmp_path / "x.safetensors")
    with pytest.raises(ckpt.CheckpointError, match="no checkpoint at"):
        ckpt.load_model(tmp_path / "nothing")


def test_resuming_with_another_shape_names_the_fields(saved):
    with pytest.raises(ckpt.CheckpointError, match="another model: d_model=32 in the checkpoint, 48 in the config"):
        train(tiny_config(max_iters=20, d_model=48), DATA, out_dir=saved[0], resume=True, progress=None)


def test_a_failed_write_keeps_the_previous_checkpoint(saved, tmp_path, monkeypatch):
    path = _copy(saved[0], tmp_path)
    before = path.read_bytes()
    monkeypatch.setattr(ckpt, "st_save", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    _, result = saved
    with pytest.raises(OSError, match="disk full"):
        ckpt.save(path, tiny_config(), result.state.params, result.state.opt_state, 3,
                  result.state.key, "ab")
    assert path.read_bytes() == before and not list(tmp_path.glob(".*.tmp"))


def _rewrite(path, edit_metadata, tensors_digest_only=False):
    """Re-save a checkpoint's tensors with edited metadata (a hostile or an old writer)."""
    tensors, meta = ckpt.read(path)
    meta = edit_metadata(dict(meta))
    if tensors_digest_only:
        meta["sha256"] = ckpt._digest(tensors)
    path.write_bytes(ckpt.st_save(tensors, metadata=meta))


def test_changed_metadata_is_corruption(saved, tmp_path):
    """The sha256 covers the metadata: a checkpoint claiming another step is refused."""
    path = _copy(saved[0], tmp_path)
    _rewrite(path, lambda m: {**m, "step": "19"})
    with pytest.raises(ckpt.CheckpointError, match="tensors or metadata do not match"):
        ckpt.load_model(path)


def test_missing_metadata_is_named(saved, tmp_path):
    path = _copy(saved[0], tmp_path)
    def drop(m):
        m.pop("chars")
        m["sha256"] = ckpt._digest(ckpt.read(saved[0] / "ckpt.safetensors")[0], m)
        return m
    _rewrite(path, drop)
    with pytest.raises(ckpt.CheckpointError, match="lacks metadata: chars"):
        ckpt.load_model(path)


def test_format_1_checkpoints_are_still_read(saved, tmp_path):
    """Before the config split a checkpoint held one mixed Config: it loads as a run config."""
    path = _copy(saved[0], tmp_path)
    run = tiny_config(max_iters=10)
    old = {**run.model.to_dict(), **run.train.to_dict(), "attention": "auto", "dense_layers": 0}
    old.pop("mlp_layers")
    _rewrite(path, lambda m: {k: v for k, v in m.items() if k != "run"} | {
        "format": "rawweights-checkpoint-1", "config": __import__("json").dumps(old)},
        tensors_digest_only=True)
    _, _, loaded, _ = ckpt.load_model(path)
    assert loaded == run


def test_out_must_be_a_writable_folder_before_training_starts(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ckpt.CheckpointError, match="is a file, not a folder"):
        train(tiny_config(max_iters=10_000), DATA, out_dir=a_file, progress=None)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if not os.access(locked, os.W_OK):     # root writes anywhere: nothing to test then
            with pytest.raises(ckpt.CheckpointError, match="cannot write checkpoints into"):
                train(tiny_config(max_iters=10_000), DATA, out_dir=locked, progress=None)
    finally:
        locked.chmod(0o700)


def test_leftovers_of_an_interrupted_save_are_removed(tmp_path):
    stale = tmp_path / ".ckpt.safetensors.k3j2.tmp"
    stale.write_bytes(b"\0" * 1000)
    train(tiny_config(max_iters=5, eval_interval=5), DATA, out_dir=tmp_path, progress=None)
    assert not stale.exists() and (tmp_path / "ckpt.safetensors").is_file()


def test_resuming_a_finished_run_does_nothing(saved):
    out, _ = saved
    before = (out / "ckpt.safetensors").read_bytes()
    said = []
    result = train(tiny_config(max_iters=10), DATA, out_dir=out, resume=True, progress=said.append)
    assert result.steps_run == 0 and any("nothing to do" in line for line in said)
    assert (out / "ckpt.safetensors").read_bytes() == before
