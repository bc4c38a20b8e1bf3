"""Checkpoints: round trip, and a clear error for every kind of bad file; nothing half-written."""

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
    model, tok, cfg, meta = ckpt.load_model(out)
    assert cfg == tiny_config(max_iters=10) and tok.chars == DATA.tokenizer.chars
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
    with pytest.raises(ckpt.CheckpointError, match="corrupted: its tensors do not match"):
        ckpt.load_model(path)


def test_not_a_checkpoint_and_missing(tmp_path):
    (tmp_path / "x.safetensors").write_bytes(b"hello")
    with pytest.raises(ckpt.CheckpointError, match="not a readable checkpoint"):
        ckpt.load_model(tmp_path / "x.safetensors")
    with pytest.raises(ckpt.CheckpointError, match="no checkpoint at"):
        ckpt.load_model(tmp_path / "nothing")


def test_resuming_with_another_shape_names_the_fields(saved):
    with pytest.raises(ckpt.CheckpointError, match="d_model=32 in the checkpoint, 48 in the config"):
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
