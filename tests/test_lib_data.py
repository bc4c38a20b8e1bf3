import hashlib

import jax
import numpy as np
import pytest

from rawweights_jax.data import shakespeare as D
from rawweights_jax.data.batches import sample_batch
from rawweights_jax.data.tokenizer import CharTokenizer


def test_tokenizer_round_trip_and_vocabulary():
    tok = CharTokenizer.from_text("hello world")
    assert tok.chars == " dehlorw" and tok.vocab_size == 8
    assert tok.decode(tok.encode("low hold")) == "low hold"


def test_unknown_character_names_it_and_its_position():
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match=r"unknown character 'z' at position 2"):
        tok.encode("abzc")
    with pytest.raises(ValueError, match=r"token id 7 is outside the vocabulary \[0, 3\)"):
        tok.decode([0, 7])


def test_shakespeare_split_as_nanogpt(shakespeare):
    ds = shakespeare                           # RAWWEIGHTS_DATA_DIR or the cache (see README)
    assert ds.tokenizer.vocab_size == 65
    assert (len(ds.train_Z), len(ds.val_Z)) == (1_003_854, 111_540)
    assert ds.tokenizer.decode(ds.train_Z[:14]) == "First Citizen:"


def test_wrong_checksum_and_missing_file_are_clear_errors(monkeypatch, tmp_path):
    (tmp_path / "tinyshakespeare").mkdir()
    monkeypatch.setenv(D.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(D.DataError, match="does not exist: that folder must hold tinyshakespeare"):
        D.shakespeare_path()
    (tmp_path / "tinyshakespeare" / "input.txt").write_text("not shakespeare")
    with pytest.raises(D.DataError, match="does not match tiny Shakespeare's sha256"):
        D.shakespeare_path()


def test_offline_without_data_says_where_to_put_the_file(monkeypatch, tmp_path):
    monkeypatch.delenv(D.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    def offline(*a, **k):
        raise OSError("network unreachable")

    monkeypatch.setattr(D.urllib.request, "urlopen", offline)
    with pytest.raises(D.DataError) as err:
        D.shakespeare_path()
    msg = str(err.value)
    assert str(tmp_path / "rawweights" / "tinyshakespeare" / "input.txt") in msg
    assert D.DATA_DIR_ENV in msg and D.SHAKESPEARE_SHA256 in msg


def test_download_is_verified_and_cached(monkeypatch, tmp_path):
    payload = b"fake corpus"
    monkeypatch.delenv(D.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(D, "SHAKESPEARE_SHA256", hashlib.sha256(payload).hexdigest())

    class Response:
        def __enter__(self): return self
        def __exit__(self, *a): return False
        def read(self): return payload

    calls = []
    monkeypatch.setattr(D.urllib.request, "urlopen", lambda *a, **k: calls.append(a) or Response())
    path = D.shakespeare_path()
    assert path.read_bytes() == payload and D.shakespeare_path() == path and len(calls) == 1


def test_batches_are_windows_with_shifted_targets():
    data = jax.numpy.arange(1000, dtype=jax.numpy.int32)
    x, y = sample_batch(data, jax.random.key(0), 8, 16)
    assert x.shape == y.shape == (8, 16)
    np.testing.assert_array_equal(np.asarray(x)[:, 1:], np.asarray(y)[:, :-1])
    np.testing.assert_array_equal(np.diff(np.asarray(x), axis=1), 1)
