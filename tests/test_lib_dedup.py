"""Deduplication (exact and MinHash LSH), the planted corpus it is scored on, the train/validation
n-gram overlap, and sequence packing."""

import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest

from rawweights_jax.data.dedup import NearConfig, exact_pairs, jaccard, near_pairs, score, shingles
from rawweights_jax.data.overlap import ngram_overlap, word_ngrams
from rawweights_jax.data.packing import pack, pad_each, padding_report
from rawweights_jax.data.planted import edit_words, plant_duplicates, speeches
from rawweights_jax.data.shakespeare import shakespeare_text, split_text

SPEECHES = ["O Romeo, Romeo! wherefore art thou Romeo?\nDeny thy father and refuse thy name.",
            "Now is the winter of our discontent\nMade glorious summer by this sun of York.",
            "Friends, Romans, countrymen, lend me your ears;\nI come to bury Caesar, not to praise him."]


def test_exact_duplicates_ignore_case_and_spacing_only():
    docs = [SPEECHES[0], SPEECHES[0].upper().replace(" ", "   "), SPEECHES[0] + "!", SPEECHES[1]]
    assert exact_pairs(docs) == {(0, 1)}


def test_near_duplicates_are_found_and_strangers_are_not():
    edited = SPEECHES[1].replace("glorious", "gloriouse").replace("sun", "son")
    assert jaccard(shingles(SPEECHES[1], 5), shingles(edited, 5)) > 0.6
    assert near_pairs([SPEECHES[0], SPEECHES[1], SPEECHES[2], edited]) == {(1, 3)}
    assert near_pairs([SPEECHES[1], edited], NearConfig(threshold=0.95)) == set()
    with pytest.raises(ValueError, match="threshold=1.2: expected a Jaccard similarity"):
        NearConfig(threshold=1.2)


def test_word_edits_at_the_stated_rate():
    rng, words = random.Random(0), ["thee", "thou"]
    assert edit_words(SPEECHES[2], 0.0, rng, words) == SPEECHES[2]
    text = " ".join(["word"] * 2000)
    edited = edit_words(text, 0.1, random.Random(1), ["other"])
    changed = abs(len(edited.split()) - 2000) + edited.split().count("other")
    assert 50 < changed < 250                      # about a third of 10% insert, a third delete
    with pytest.raises(ValueError, match="edit rate 1.5"):
        edit_words(text, 1.5, rng, words)


def test_planted_corpus_records_the_truth_and_is_seeded():
    sources = [f"{s} ({i})" for i, s in enumerate(SPEECHES * 20)]
    corpus = plant_duplicates(sources, fraction=0.5, exact_share=0.5, rates=(0.5,), seed=3)
    assert len(corpus.docs) == 90 and len(corpus.pairs) == 30
    assert corpus.kinds.count("exact") == 15 and corpus.kinds.count("edit-0.5") == 15
    for (i, j), kind in zip(corpus.pairs, corpus.kinds):
        assert i < j and (corpus.docs[i] == corpus.docs[j]) == (kind == "exact")
    assert plant_duplicates(sources, 0.5, 0.5, (0.5,), seed=3) == corpus
    assert score({corpus.pairs[0], (0, 0)}, corpus.pairs) == {
        "recall": 1 / 30, "precision": 0.5, "true_pairs": 30, "found_pairs": 2, "false_pairs": 1}


def test_dedup_meets_its_target_on_planted_shakespeare(shakespeare):
    """The issue's target, on a smaller corpus than the benchmark's (speeches of 500+ characters)."""
    corpus = plant_duplicates(speeches(shakespeare_text(), 500), seed=1)
    result = score(exact_pairs(corpus.docs) | near_pairs(corpus.docs), corpus.pairs)
    assert result["recall"] >= 0.95 and result["precision"] >= 0.95, result


def test_ngram_overlap_falls_with_n_and_is_one_on_the_same_text(shakespeare):
    assert word_ngrams("To be or not", 2) == [("to", "be"), ("be", "or"), ("or", "not")]
    assert ngram_overlap("a b c d", "a b c d", ns=(1, 3)) == {1: 1.0, 3: 1.0}
    assert ngram_overlap("a b c d", "a b x d", ns=(1, 2)) == {1: 0.75, 2: 1 / 3}
    train_text, val_text = split_text(shakespeare_text()[:300_000])
    shares = list(ngram_overlap(train_text, val_text, ns=(1, 2, 4, 8)).values())
    assert shares == sorted(shares, reverse=True) and shares[0] > 0.8 and shares[-1] < 0.05
    with pytest.raises(ValueError, match="n=0"):
        word_ngrams("a b", 0)


def test_packing_keeps_every_token_in_order_and_pads_only_the_end():
    docs = [[1, 2, 3], [4, 5, 6, 7, 8, 9, 10], [11]]
    packed = pack(docs, window=4, separator=99)
    np.testing.assert_array_equal(packed.reshape(-1), [1, 2, 3, 99, 4, 5, 6, 7, 8, 9, 10, 99, 11, 99, 0, 0])
    padded = pad_each(docs, window=4)
    np.testing.assert_array_equal(padded, [[1, 2, 3, 0], [4, 5, 6, 7], [8, 9, 10, 0], [11, 0, 0, 0]])
    report = padding_report(docs, window=4, separator=99)
    assert (report["padded_rows"], report["packed_rows"], report["rows_saved"]) == (4, 4, 0.0)
    assert report["padded_fraction"] == 1 - 11 / 16 and report["packed_fraction"] == 1 - 14 / 16
    many = [[7] * n for n in range(1, 30)]         # short documents: packing saves most rows
    assert padding_report(many, 64, 0)["rows_saved"] > 0.7
    with pytest.raises(ValueError, match="window=0, pad=0"):
        pack(docs, 0, 99)


def test_bench_dedup_prints_recall_and_precision_as_json(shakespeare):
    r = subprocess.run([sys.executable, "-m", "rawweights_jax.cli", "bench", "dedup", "--min-chars", "1500",
                        "--json"], capture_output=True, text=True, env=os.environ, timeout=300)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert result["planted_pairs"] > 0 and result["recall"] >= 0.8 and result["precision"] == 1.0
