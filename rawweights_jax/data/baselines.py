"""What a model must beat: the loss of guessing the next character from counts alone.

A character n-gram model with add-one smoothing, counted on the training split and scored on
validation text, in nats per character: order 1 guesses by letter frequency, order 2 by the
previous letter. Uniform guessing over V characters scores ln V.
"""

from __future__ import annotations

import numpy as np


def ngram_nats(train_Z, val_Z, vocab: int, order: int = 1) -> float:
    """Mean -ln p(next character) on `val_Z` of an add-one-smoothed n-gram counted on `train_Z`."""
    if order not in (1, 2):
        raise ValueError(f"order={order!r}: expected 1 (letter frequencies) or 2 (previous letter)")
    train_Z, val_Z = np.asarray(train_Z), np.asarray(val_Z)
    if order == 1:
        counts_CV = np.bincount(train_Z, minlength=vocab)[None].astype(np.float64)
        context, target = np.zeros(len(val_Z), int), val_Z
    else:
        counts_CV = np.zeros((vocab, vocab))
        np.add.at(counts_CV, (train_Z[:-1], train_Z[1:]), 1)
        context, target = val_Z[:-1], val_Z[1:]
    p_CV = (counts_CV + 1) / (counts_CV + 1).sum(-1, keepdims=True)
    return float(-np.log(p_CV[context, target]).mean())
