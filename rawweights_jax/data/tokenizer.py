"""Text to integers and back: what every tokenizer promises, and the character tokenizer.

A tokenizer here is anything with `encode`, `decode`, `vocab_size`, `name` and `spec()`: the
spec is a small JSON-ready dict from which `from_spec` rebuilds the very same tokenizer, so a
checkpoint can carry it (ckpt/checkpoint.py, through tokenizer_spec.py). Two kinds exist: characters (this module) and
byte-level BPE (bpe.py). A character tokenizer refuses a character it never saw; byte-level BPE
falls back to the character's UTF-8 bytes, so it can encode any text.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Tokenizer(Protocol):
    """What the trainer, the checkpoint and the decoders need from a tokenizer."""

    @property
    def name(self) -> str: ...           # "char", "bpe-512": for tables and file names

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids) -> str: ...

    def spec(self) -> dict[str, Any]: ...  # JSON-ready; tokenizer_spec.from_spec rebuilds it


def check_ids(ids, vocab_size: int) -> list[int]:
    """`ids` (any array-like) as a flat list of ints, each checked to be in [0, vocab_size)."""
    ids = [int(i) for i in np.asarray(ids).reshape(-1)]
    bad = [i for i in ids if not 0 <= i < vocab_size]
    if bad:
        raise ValueError(f"token id {bad[0]} is outside the vocabulary [0, {vocab_size})")
    return ids


# --8<-- [start:tokenizer]
class CharTokenizer:
    """Characters to integers and back: the vocabulary is the sorted set of characters seen."""

    def __init__(self, chars: str):
        if len(set(chars)) != len(chars):
            raise ValueError("tokenizer characters must be distinct")
        self.chars = chars
        self.index = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        return cls("".join(sorted(set(text))))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        try:
            return [self.index[c] for c in text]
        except KeyError:
            pos = next(i for i, c in enumerate(text) if c not in self.index)
            raise ValueError(f"unknown character {text[pos]!r} at position {pos}: "
                             f"the vocabulary has {self.vocab_size} characters") from None

    def decode(self, ids) -> str:
        return "".join(self.chars[i] for i in check_ids(ids, self.vocab_size))
# --8<-- [end:tokenizer]

    name = "char"

    def spec(self) -> dict[str, Any]:
        return {"kind": "char", "chars": self.chars}

    def __eq__(self, other) -> bool:
        return isinstance(other, CharTokenizer) and other.chars == self.chars

    def __hash__(self) -> int:
        return hash(self.chars)
