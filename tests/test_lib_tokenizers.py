"""Tokenizers: the protocol, byte-level BPE (bytes fallback, determinism, training split only),
specs that rebuild the same tokenizer, and checkpoints that remember theirs."""

import json
from pathlib import Path

import pytest

from _lib_support import TEXT, tiny_config
from rawweights_jax.ckpt import checkpoint as ckpt
from rawweights_jax.data.bpe import BpeTokenizer, merges_of, train_bpe
from rawweights_jax.data.shakespeare import Dataset, shakespeare_text, split_text
from rawweights_jax.data.tokenizer import CharTokenizer, Tokenizer
from rawweights_jax.data.tokenizer_spec import from_spec
from rawweights_jax.train.loop import train

BPE = train_bpe(TEXT, 300)
RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def test_both_kinds_follow_the_protocol_and_their_specs_rebuild_them():
    char = CharTokenizer.from_text(TEXT)
    for tok in (char, BPE):
        assert isinstance(tok, Tokenizer)
        again = from_spec(json.loads(json.dumps(tok.spec())))
        assert again == tok and again.name == tok.name and again.vocab_size == tok.vocab_size
        assert again.encode("Speak, speak.") == tok.encode("Speak, speak.")
    assert (char.name, BPE.name, BPE.vocab_size) == ("char", "bpe-300", 300)


def test_bpe_of_256_is_the_bytes_alone():
    tok = train_bpe(TEXT, 256)
    assert merges_of(tok) == [] and tok.encode("First") == list(tok.encode("First"))
    assert len(tok.encode("First Citizen:")) == len("First Citizen:")


def test_bpe_merges_common_pairs_and_round_trips_any_text_through_bytes():
    assert len(BPE.encode("First Citizen:")) < 5     # a line seen 80 times is a few tokens
    for text in ("Speak, speak.", "naïve café ☃ 東京\n\ttabs", ""):
        assert BPE.decode(BPE.encode(text)) == text   # unseen characters: their UTF-8 bytes
    assert len(BPE.encode("☃")) == 3                  # three bytes, three tokens


def test_bpe_training_is_deterministic_and_checks_its_size():
    assert train_bpe(TEXT, 300).spec() == BPE.spec()
    for bad in (255, 70_000):
        with pytest.raises(ValueError, match=f"vocab_size={bad}: expected 256"):
            train_bpe(TEXT, bad)
    with pytest.raises(ValueError, match=r"vocab_size=400: the training text \(5,920 characters\) supports only 330"):
        train_bpe(TEXT, 400)
    with pytest.raises(ValueError, match=r"token id 300 is outside the vocabulary \[0, 300\)"):
        BPE.decode([1, 300])


def test_bad_specs_are_named():
    with pytest.raises(ValueError, match="kind 'wordpiece'"):
        from_spec({"kind": "wordpiece"})
    with pytest.raises(ValueError, match="kind 'list'"):
        from_spec([1, 2])
    with pytest.raises(ValueError, match="'chars' must be a non-empty string"):
        from_spec({"kind": "char", "chars": ""})
    with pytest.raises(ValueError, match="'tokenizer_json' is not a readable tokenizer"):
        from_spec({"kind": "bpe", "vocab_size": 300, "tokenizer_json": "{broken"})
    with pytest.raises(ValueError, match="vocab_size=512 but its tokenizer holds 300 tokens"):
        from_spec({**BPE.spec(), "vocab_size": 512})


def test_a_dataset_splits_text_before_encoding():
    train_text, val_text = split_text(TEXT)
    data = Dataset.from_text(TEXT, tokenizer=BPE)
    assert BPE.decode(data.train_Z) == train_text and BPE.decode(data.val_Z) == val_text
    assert len(Dataset.from_text(TEXT).train_Z) == len(train_text)    # characters: as before
    with pytest.raises(ValueError, match="val_fraction=1.5"):
        split_text(TEXT, 1.5)


@pytest.fixture(scope="module")
def bpe_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bpe")
    run = tiny_config(vocab_size=BPE.vocab_size, max_iters=5, eval_interval=5)
    train(run, Dataset.from_text(TEXT, tokenizer=BPE), out_dir=out, progress=None)
    return out, run


def test_a_checkpoint_restores_its_bpe_and_refuses_another_on_resume(bpe_run):
    out, run = bpe_run
    _, tok, _, meta = ckpt.load_model(out)
    assert isinstance(tok, BpeTokenizer) and tok == BPE and json.loads(meta["chars"]) == ""
    other = Dataset.from_text(TEXT, tokenizer=train_bpe(TEXT, 290))
    with pytest.raises(ckpt.CheckpointError, match="trained with the bpe-300 tokenizer, not this data's bpe-290"):
        train(run.replace(max_iters=10), other, out_dir=out, resume=True, progress=None)


def _rewrite(src, dst, edit):
    tensors, meta = ckpt.read(src)
    meta = edit(dict(meta))
    meta["sha256"] = ckpt._digest(tensors, meta)
    dst.write_bytes(ckpt.st_save(tensors, metadata=meta))
    return dst


def test_old_checkpoints_read_as_characters_and_bad_specs_are_named(bpe_run, tmp_path):
    out, _ = bpe_run
    src = out / ckpt.LATEST
    chars = "".join(chr(32 + i) for i in range(200))
    old = _rewrite(src, tmp_path / "old.safetensors",
                   lambda m: {**{k: v for k, v in m.items() if k != "tokenizer"}, "chars": json.dumps(chars)})
    assert ckpt.load_model(old)[1] == CharTokenizer(chars)
    bad = _rewrite(src, tmp_path / "bad.safetensors", lambda m: {**m, "tokenizer": '{"kind": "sentencepiece"}'})
    with pytest.raises(ckpt.CheckpointError, match="stored tokenizer is invalid.*'sentencepiece'"):
        ckpt.load_model(bad)
    big = _rewrite(src, tmp_path / "big.safetensors",
                   lambda m: {**m, "tokenizer": json.dumps(train_bpe(TEXT, 320).spec())})
    with pytest.raises(ckpt.CheckpointError, match="tokenizer bpe-320 has 320 tokens but the model only 300"):
        ckpt.load_model(big)


def test_the_committed_characters_per_token_reproduce(shakespeare):
    """The cheapest point of benchmarks/results/tokenizers-*.json: BPE-512 on tiny Shakespeare."""
    files = sorted(RESULTS.glob("tokenizers-cpu-*.json"))
    assert files, "no tokenizers result file committed"
    recorded = json.loads(files[-1].read_text())["chars_per_token"]["512"]
    train_text, val_text = split_text(shakespeare_text())
    assert round(len(val_text) / len(train_bpe(train_text, 512).encode(val_text)), 4) == recorded
