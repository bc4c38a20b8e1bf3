"""Byte-level BPE: start from the 256 byte values, then merge the most frequent adjacent pair
into a new token, again and again, until the vocabulary is full.

Training (Hugging Face `tokenizers`, Sennrich et al. 2016; GPT-2's byte-level variant, Radford
et al. 2019) sees the training split only, so validation text is encoded by rules that never
looked at it. Any text can be encoded: a character no merge covers falls back to its UTF-8
bytes, each of which is in the vocabulary from the start. A vocabulary of 256 therefore holds
the bytes alone (no merges), and every token of ASCII text is one character. Training is
deterministic: the same text and size give the same merges, byte for byte.
"""

from __future__ import annotations

import json
from typing import Any

from tokenizers import Tokenizer as HfTokenizer
from tokenizers import decoders, models, pre_tokenizers, trainers

from rawweights_jax.data.tokenizer import check_ids

MIN_VOCAB, MAX_VOCAB = 256, 65536     # the bytes alone; ids must fit in the model's table


class BpeTokenizer:
    """A trained byte-level BPE: `encode` splits text into merged byte sequences."""

    def __init__(self, hf: HfTokenizer):
        self.hf = hf

    @property
    def vocab_size(self) -> int:
        return self.hf.get_vocab_size()

    @property
    def name(self) -> str:
        return f"bpe-{self.vocab_size}"

    def encode(self, text: str) -> list[int]:
        return self.hf.encode(text).ids

    def decode(self, ids) -> str:
        # checked here: tokenizers would drop an unknown id without a word
        return self.hf.decode(check_ids(ids, self.vocab_size))

    def spec(self) -> dict[str, Any]:
        return {"kind": "bpe", "vocab_size": self.vocab_size, "tokenizer_json": self.hf.to_str()}

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> BpeTokenizer:
        try:
            hf = HfTokenizer.from_str(spec["tokenizer_json"])
        except Exception as err:   # KeyError, TypeError, or tokenizers' own bare Exception
            raise ValueError(f"BPE tokenizer spec: 'tokenizer_json' is not a readable tokenizer "
                             f"({str(err)[:120]})") from None
        tok = cls(hf)
        if tok.vocab_size != spec.get("vocab_size"):
            raise ValueError(f"BPE tokenizer spec: vocab_size={spec.get('vocab_size')!r} but its "
                             f"tokenizer holds {tok.vocab_size} tokens")
        return tok

    def __eq__(self, other) -> bool:
        return isinstance(other, BpeTokenizer) and other.hf.to_str() == self.hf.to_str()

    def __hash__(self) -> int:
        return hash(self.hf.to_str())


# --8<-- [start:train]
def train_bpe(train_text: str, vocab_size: int) -> BpeTokenizer:
    """A byte-level BPE of `vocab_size` tokens (256 bytes + merges) learned from `train_text`."""
    if not MIN_VOCAB <= vocab_size <= MAX_VOCAB:
        raise ValueError(f"vocab_size={vocab_size}: expected {MIN_VOCAB} (the bytes alone) to "
                         f"{MAX_VOCAB}")
    hf = HfTokenizer(models.BPE())
    # GPT-2's pre-tokenizer: split at spaces and punctuation (a merge never crosses a word's
    # start), and map each byte to a printable stand-in so the vocabulary is plain strings.
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False, special_tokens=[],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    hf.train_from_iterator([train_text], trainer)
    if hf.get_vocab_size() < vocab_size:     # every pair left occurs once: no merge to make
        raise ValueError(f"vocab_size={vocab_size}: the training text ({len(train_text):,} "
                         f"characters) supports only {hf.get_vocab_size()} tokens")
    return BpeTokenizer(hf)
# --8<-- [end:train]


def merges_of(tok: BpeTokenizer) -> list[str]:
    """The learned merges in the order they were made, as readable text ('Ġ' is a space)."""
    return [" + ".join(m) if isinstance(m, list) else m
            for m in json.loads(tok.hf.to_str())["model"]["merges"]]
