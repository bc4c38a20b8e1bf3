"""How much of the validation text the model could have memorised: the fraction of validation
word n-grams that also occur in the training text.

A validation set meant to measure generalisation should share few long n-grams with training:
a shared 13-word run is what GPT-3's contamination check (Brown et al. 2020, appendix C) counted
as a leak. Short n-grams are shared by any two texts of one language ("I pray you"), so the
fraction is reported for several n and falls as n grows; what matters is how fast.
"""

from __future__ import annotations


def word_ngrams(text: str, n: int) -> list[tuple[str, ...]]:
    """Every run of `n` words of `text` (lower case, split at whitespace)."""
    if n < 1:
        raise ValueError(f"n={n}: expected a positive n-gram length")
    words = text.lower().split()
    return [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]


# --8<-- [start:overlap]
def ngram_overlap(train_text: str, val_text: str, ns=(1, 2, 4, 8, 13)) -> dict[int, float]:
    """{n: share of the validation text's word n-grams (counted with repeats) seen in training}."""
    result = {}
    for n in ns:
        seen = set(word_ngrams(train_text, n))
        val = word_ngrams(val_text, n)
        result[n] = sum(g in seen for g in val) / len(val) if val else 0.0
    return result
# --8<-- [end:overlap]
