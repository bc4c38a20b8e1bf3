"""Characters to integers and back: the robot student's alphabet."""

from __future__ import annotations

import numpy as np


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
        ids = [int(i) for i in np.asarray(ids).reshape(-1)]
        bad = [i for i in ids if not 0 <= i < self.vocab_size]
        if bad:
            raise ValueError(f"token id {bad[0]} is outside the vocabulary [0, {self.vocab_size})")
        return "".join(self.chars[i] for i in ids)
# --8<-- [end:tokenizer]
