"""`rawweights bench dedup`: exact and near-duplicate detection scored on a planted corpus.

The corpus is tiny Shakespeare's speeches with seeded copies planted among them (data/
planted.py): exact copies and copies edited at several word-edit rates. Recall is the share of
planted pairs found, precision the share of found pairs that were planted; both are reported
for exact hashing alone and for exact hashing together with MinHash LSH (data/dedup.py), and
recall for each kind of copy.
"""

from __future__ import annotations

import time

from rawweights_jax.bench.common import environment, print_table
from rawweights_jax.data.dedup import NearConfig, exact_pairs, near_pairs, score
from rawweights_jax.data.planted import plant_duplicates, speeches
from rawweights_jax.data.shakespeare import shakespeare_text


def bench_dedup(min_chars: int = 200, fraction: float = 0.2,
                rates: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2), near: NearConfig = NearConfig(),
                seed: int = 0, quiet: bool = False) -> dict:
    """Plant duplicates among the speeches of at least `min_chars` characters, find them,
    score against the planted pairs."""
    corpus = plant_duplicates(speeches(shakespeare_text(), min_chars), fraction, rates=rates, seed=seed)
    t0 = time.perf_counter()
    exact = exact_pairs(corpus.docs)
    t1 = time.perf_counter()
    found = exact | near_pairs(corpus.docs, near)
    t2 = time.perf_counter()
    both = score(found, corpus.pairs)
    by_kind = {}
    for kind in sorted(set(corpus.kinds)):
        pairs = [p for p, k in zip(corpus.pairs, corpus.kinds) if k == kind]
        by_kind[kind] = round(sum(p in found for p in pairs) / len(pairs), 4)
    out = {"benchmark": "dedup", "documents": len(corpus.docs), "planted_pairs": len(corpus.pairs),
           "min_chars": min_chars, "fraction": fraction, "edit_rates": list(rates), "seed": seed,
           "shingle": near.shingle, "num_perm": near.num_perm, "threshold": near.threshold,
           "recall": round(both["recall"], 4), "precision": round(both["precision"], 4),
           "found_pairs": both["found_pairs"], "false_pairs": both["false_pairs"],
           "exact_only_recall": round(score(exact, corpus.pairs)["recall"], 4),
           "exact_only_precision": round(score(exact, corpus.pairs)["precision"], 4),
           "recall_by_kind": by_kind, "exact_seconds": round(t1 - t0, 3),
           "near_seconds": round(t2 - t1, 2), **environment()}
    if not quiet:
        print_table(out)
    return out
