"""Duplicates planted among tiny Shakespeare's speeches, then found again: exact copies by a
hash of the normalised text, edited copies by MinHash LSH over character shingles. This is
`rawweights bench dedup` with its defaults, run at build time.

Run on its own: python snippets/training/dedup_planted.py   (about ten seconds)
"""

from rwsite.claims import claim, value

from rawweights_jax.bench.dedup import bench_dedup

# --8<-- [start:bench]
r = bench_dedup(quiet=True)       # speeches of 200+ characters, 20% copied, seed 0
print(f"{r['documents']} documents, {r['planted_pairs']} planted pairs "
      f"(shingles of {r['shingle']} characters, {r['num_perm']} hashes, Jaccard >= {r['threshold']})")
print(f"exact hash alone:  recall {r['exact_only_recall']:.3f}  precision {r['exact_only_precision']:.3f}")
print(f"exact + MinHash:   recall {r['recall']:.3f}  precision {r['precision']:.3f}  "
      f"({r['found_pairs']} pairs found, {r['false_pairs']} false)")
for kind, recall in r["recall_by_kind"].items():
    print(f"  {kind:10} recall {recall:.3f}")
# --8<-- [end:bench]

claim(r["recall"] >= 0.95 and r["precision"] >= 0.95,
      "recall and precision reach 0.95 on the planted corpus", recall=r["recall"], precision=r["precision"])
value("dd_docs", f"{r['documents']:,}")
value("dd_pairs", str(r["planted_pairs"]))
value("dd_recall", f"{r['recall']:.3f}")
value("dd_precision", f"{r['precision']:.3f}")
value("dd_exact_recall", f"{r['exact_only_recall']:.2f}")
value("dd_recall_02", f"{r['recall_by_kind']['edit-0.2']:.2f}")
value("dd_false", str(r["false_pairs"]))
