"""Finding duplicate documents: exact copies by a hash, near copies by MinHash and LSH.

Exact: two documents are the same if their normalised text (lower case, whitespace collapsed)
hashes the same. Near: each document becomes its set of character shingles (every run of
`shingle` characters of the normalised text), and two documents are near duplicates when the
Jaccard similarity of their sets, |A & B| / |A | B|, reaches `threshold`. Comparing every pair
costs n^2; MinHash (Broder 1997) condenses each set into `num_perm` minima of random hash
functions, the chance that two minima agree being exactly the Jaccard similarity, and
locality-sensitive hashing bands those minima so that only documents agreeing on a whole band
become candidates (Leskovec, Rajaraman and Ullman, *Mining of Massive Datasets*, ch. 3). The
candidates are then checked against the true Jaccard of their shingle sets, so the estimate's
noise costs recall only near the threshold, never precision. MinHash and LSH come from the
`datasketch` package (the `data` extra).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from itertools import combinations


def normalise(text: str) -> str:
    """Lower case, runs of whitespace as one space: what a copy-paste or re-wrap changes."""
    return " ".join(text.lower().split())


def shingles(text: str, k: int) -> set[str]:
    """Every run of `k` characters of the normalised text (the whole text if it is shorter)."""
    t = normalise(text)
    return {t[i:i + k] for i in range(max(1, len(t) - k + 1))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def exact_pairs(docs: list[str]) -> set[tuple[int, int]]:
    """Pairs (i, j), i < j, of documents whose normalised texts are equal (by sha256)."""
    groups: dict[str, list[int]] = {}
    for i, doc in enumerate(docs):
        groups.setdefault(hashlib.sha256(normalise(doc).encode()).hexdigest(), []).append(i)
    return {pair for group in groups.values() for pair in combinations(group, 2)}


@dataclass(frozen=True)
class NearConfig:
    """How near duplicates are found: shingle length, MinHash size, Jaccard threshold, seed."""

    shingle: int = 5
    num_perm: int = 128
    threshold: float = 0.5
    seed: int = 1

    def __post_init__(self):
        if self.shingle < 1 or self.num_perm < 2:
            raise ValueError(f"shingle={self.shingle}, num_perm={self.num_perm}: expected "
                             "shingle >= 1 and num_perm >= 2")
        if not 0 < self.threshold < 1:
            raise ValueError(f"threshold={self.threshold!r}: expected a Jaccard similarity in (0, 1)")


# --8<-- [start:near]
def near_pairs(docs: list[str], cfg: NearConfig = NearConfig()) -> set[tuple[int, int]]:
    """Pairs (i, j), i < j, whose shingle sets have Jaccard >= cfg.threshold: LSH proposes
    candidates from MinHash signatures, the exact Jaccard of each candidate decides."""
    try:
        from datasketch import MinHash, MinHashLSH
    except ImportError:
        raise ImportError("near-duplicate detection needs datasketch: pip install "
                          "'rawweights_jax[data]'") from None
    sets = [shingles(d, cfg.shingle) for d in docs]
    lsh = MinHashLSH(threshold=cfg.threshold, num_perm=cfg.num_perm)
    signatures = []
    for i, s in enumerate(sets):
        m = MinHash(num_perm=cfg.num_perm, seed=cfg.seed)
        m.update_batch([x.encode() for x in s])
        lsh.insert(i, m)
        signatures.append(m)
    candidates = {(min(i, j), max(i, j)) for i, m in enumerate(signatures)
                  for j in lsh.query(m) if i != j}
    return {(i, j) for i, j in candidates if jaccard(sets[i], sets[j]) >= cfg.threshold}
# --8<-- [end:near]


def score(found: set[tuple[int, int]], truth: list[tuple[int, int]]) -> dict[str, float]:
    """Recall (the share of true pairs found) and precision (the share of found pairs true)."""
    truth_set = set(truth)
    hits = len(found & truth_set)
    return {"recall": hits / len(truth_set) if truth_set else 1.0,
            "precision": hits / len(found) if found else 1.0,
            "true_pairs": len(truth_set), "found_pairs": len(found), "false_pairs": len(found) - hits}
