"""What the pages about reading share: the text the trained student reads, windows of unseen
text, and how to tell what an attention head looks at.

A helper module (its name starts with `_`), not a snippet: snippets of this folder import it.

`head_patterns` scores every head of a trace against three simple hypotheses, each a rule that
names one key per query: the previous character, the space before the current word, the line
break that began the current line. A head's score is the mean weight it
puts on that key. A head that spread its weight evenly over the past would score 1 / (t + 1)
at query t; `baseline` is that, averaged over the same queries.
"""

from __future__ import annotations

import numpy as np

from rawweights_jax.data.shakespeare import load_shakespeare

# A name, a line break and a few short words, from the validation split (never trained on).
TEXT = "BIANCA:\nGod give him joy!"

PATTERNS = {
    "previous": "the previous character",
    "word": "the space before the current word",
    "line": "the line break that began the current line",
}


def shown(c: str) -> str:
    """A character as a tick label: visible space and line break."""
    return {" ": "␣", "\n": "↵"}.get(c, c)


def head_name(layer: int, head: int) -> str:
    return f"layer {layer}, head {head}"


def val_windows(tok, n: int = 64, length: int = 64, seed: int = 0) -> np.ndarray:
    """`n` windows of `length` characters at random places of the validation split: [n, length]."""
    val = np.asarray(load_shakespeare().val_Z)
    assert TEXT in tok.decode(val), "the page's text should come from the validation split"
    starts = np.random.default_rng(seed).integers(0, len(val) - length, n)
    return np.stack([val[s:s + length] for s in starts])


def pattern_keys(ids_T, kind: str, space: int, newline: int) -> np.ndarray:
    """For each query t, the key the rule `kind` names, or -1 where the rule says nothing.

    The rules never name t or t - 1 (a look there is a look at the last character), and the
    word and line rules never name the same key: inside a line's first word, the line break
    that began the word is left to neither."""
    keys = np.full(len(ids_T), -1)
    last_space = last_newline = -1
    for t, c in enumerate(ids_T):
        in_word = c not in (space, newline)
        if kind == "previous" and t >= 1:
            keys[t] = t - 1
        elif kind == "word" and in_word and last_space > last_newline and t - last_space >= 2:
            keys[t] = last_space
        elif kind == "line" and 0 <= last_newline < last_space and t - last_newline >= 2:
            keys[t] = last_newline
        if c == space:
            last_space = t
        elif c == newline:
            last_newline = t
    return keys


def head_patterns(probs_LBNTS, ids_BT, tok) -> dict[str, tuple[np.ndarray, float]]:
    """kind -> (score_LN: mean weight each head puts on the rule's key, baseline)."""
    probs_LBNTS = np.asarray(probs_LBNTS)
    space, newline = tok.encode(" ")[0], tok.encode("\n")[0]
    out = {}
    for kind in PATTERNS:
        weights, evens = [], []
        for b, ids_T in enumerate(np.asarray(ids_BT)):
            keys = pattern_keys(ids_T, kind, space, newline)
            q = np.flatnonzero(keys >= 0)
            weights.append(probs_LBNTS[:, b][:, :, q, keys[q]])     # [L, N, queries]
            evens.append(1.0 / (q + 1))
        out[kind] = (np.concatenate(weights, -1).mean(-1), float(np.concatenate(evens).mean()))
    return out
