"""A corpus with duplicates planted on purpose, so a deduplicator can be scored against the truth.

The documents are tiny Shakespeare's speeches (the text between blank lines) of at least
`min_chars` characters; none of those repeats in the play text, so every duplicate pair in the
corpus is one we planted. A seeded fraction of them gets one copy each: an exact copy, or an
edited one in which each word, with probability `rate`, is swapped with its neighbour, deleted,
or preceded by a word drawn from the corpus (the three edits equally likely). The copies are
shuffled in among the originals; `pairs` records which two documents are the same text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


def speeches(text: str, min_chars: int = 200) -> list[str]:
    """The speeches (blank-line-separated blocks) of `text` with at least `min_chars` characters."""
    return [block for block in text.split("\n\n") if len(block.strip()) >= min_chars]


def edit_words(text: str, rate: float, rng: random.Random, vocabulary: list[str]) -> str:
    """`text` with each word edited with probability `rate`: swapped with the next word,
    deleted, or preceded by a word from `vocabulary` (lines are kept, so a speech still reads
    as lines)."""
    if not 0 <= rate <= 1:
        raise ValueError(f"edit rate {rate!r}: expected a probability in [0, 1]")
    lines = []
    for line in text.split("\n"):
        words, out, i = line.split(" "), [], 0
        while i < len(words):
            if rng.random() >= rate:
                out.append(words[i])
                i += 1
                continue
            edit = rng.choice(("swap", "delete", "insert"))
            if edit == "swap" and i + 1 < len(words):
                out += [words[i + 1], words[i]]
                i += 2
            elif edit == "delete":
                i += 1
            else:                                 # insert (and a swap at a line's last word)
                out += [rng.choice(vocabulary), words[i]]
                i += 1
        lines.append(" ".join(out))
    return "\n".join(lines)


@dataclass(frozen=True)
class PlantedCorpus:
    """Documents and the truth about them: `pairs` (i, j), i < j, of a source and its copy;
    `kinds[k]` says how pair k's copy was made ("exact" or "edit-0.05": rate 0.05)."""

    docs: list[str]
    pairs: list[tuple[int, int]] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)


# --8<-- [start:plant]
def plant_duplicates(sources: list[str], fraction: float = 0.2, exact_share: float = 0.25,
                     rates: tuple[float, ...] = (0.02, 0.05, 0.1), seed: int = 0) -> PlantedCorpus:
    """`sources` plus one copy of a seeded `fraction` of them: `exact_share` of the copies
    verbatim, the rest edited, spread evenly over the word-edit `rates`; all shuffled."""
    if not 0 < fraction <= 1 or not 0 <= exact_share <= 1:
        raise ValueError(f"fraction={fraction!r}, exact_share={exact_share!r}: expected "
                         "0 < fraction <= 1 and 0 <= exact_share <= 1")
    rng = random.Random(seed)
    vocabulary = sorted({w for s in sources for w in s.split()})
    chosen = rng.sample(range(len(sources)), round(fraction * len(sources)))
    n_exact = round(exact_share * len(chosen))
    docs, origin, kinds = list(sources), list(range(len(sources))), {}
    for k, src in enumerate(chosen):
        if k < n_exact:
            copy, kind = sources[src], "exact"
        else:
            rate = rates[(k - n_exact) % len(rates)]
            copy, kind = edit_words(sources[src], rate, rng, vocabulary), f"edit-{rate:g}"
        kinds[len(docs)] = kind
        docs.append(copy)
        origin.append(src)
    order = list(range(len(docs)))
    rng.shuffle(order)
    where = {old: new for new, old in enumerate(order)}
    pairs = sorted((min(where[c], where[origin[c]]), max(where[c], where[origin[c]]), kinds[c])
                   for c in kinds)
    return PlantedCorpus([docs[i] for i in order], [(i, j) for i, j, _ in pairs],
                         [kind for _, _, kind in pairs])
# --8<-- [end:plant]
