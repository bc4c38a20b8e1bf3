"""A tokenizer from its spec: the one place that knows every kind, so a checkpoint (or any
file) can store `tok.spec()` and get the same tokenizer back, or a clear error."""

from __future__ import annotations

from typing import Any

from rawweights_jax.data.bpe import BpeTokenizer
from rawweights_jax.data.tokenizer import CharTokenizer, Tokenizer

KINDS = ("char", "bpe")


def from_spec(spec: Any) -> Tokenizer:
    """The tokenizer a `spec()` describes; ValueError naming what is wrong with a bad spec."""
    if not isinstance(spec, dict) or spec.get("kind") not in KINDS:
        kind = spec.get("kind") if isinstance(spec, dict) else type(spec).__name__
        raise ValueError(f"tokenizer spec of kind {kind!r}: expected a dict whose kind is one of "
                         f"{', '.join(KINDS)}")
    if spec["kind"] == "char":
        if not isinstance(spec.get("chars"), str) or not spec["chars"]:
            raise ValueError("character tokenizer spec: 'chars' must be a non-empty string")
        return CharTokenizer(spec["chars"])
    return BpeTokenizer.from_spec(spec)
