"""The roofline: arithmetic intensity of prefill and decode, the critical batch, and the
committed `bench roofline` result agreeing with today's formulas."""

from __future__ import annotations

import glob
import json
import math
from pathlib import Path

import pytest

from rawweights_jax.analysis.counts import kv_bytes, param_counts
from rawweights_jax.analysis.roofline import (attainable_flops, critical_batch, phase_cost,
                                              ridge_point, streamed_weight_bytes)
from rawweights_jax.analysis.zoo import zoo_model
from rawweights_jax.config import preset

SMALL = preset("shakespeare-char").model
REPO = Path(__file__).resolve().parents[1]


def test_batch_one_decoding_does_two_flops_per_weight_it_reads():
    # one token per weight read: 2 FLOPs (multiply, add) per 4-byte weight, plus the cache reads
    cost = phase_cost(SMALL, "decode", 1, 1)
    assert cost["arithmetic_intensity"] == pytest.approx(0.5, rel=0.01)
    bf16 = phase_cost(SMALL, "decode", 1, 1, dtype="bfloat16")
    assert bf16["arithmetic_intensity"] == pytest.approx(2 * cost["arithmetic_intensity"])


def test_the_streamed_weights_are_the_matrices_without_the_embedding_lookup():
    counts = param_counts(SMALL)
    # shakespeare-char has learned positions and an untied head: the lookups are not streamed
    lookups = SMALL.vocab_size * SMALL.d_model + SMALL.context_len * SMALL.d_model
    assert streamed_weight_bytes(SMALL) / 4 == pytest.approx(counts["total"] - lookups, rel=0.01)


def test_prefill_intensity_grows_with_the_tokens_decode_intensity_saturates():
    prefill = [phase_cost(SMALL, "prefill", b, 64)["arithmetic_intensity"] for b in (1, 8, 64)]
    assert prefill[0] < prefill[1] < prefill[2]
    decode = [phase_cost(SMALL, "decode", b, 200)["arithmetic_intensity"] for b in (1, 64, 4096, 10**6)]
    assert decode == sorted(decode)
    # with every sequence's cache read, the limit is FLOPs per token over cache bytes per sequence
    per_token = phase_cost(SMALL, "decode", 1, 200)["flops"]
    assert decode[-1] == pytest.approx(per_token / kv_bytes(SMALL, 200, 1, "float32"), rel=0.01)


def test_the_critical_batch_is_the_first_compute_bound_one():
    peak, bandwidth = 100e9, 20e9
    ridge = ridge_point(peak, bandwidth)
    b = critical_batch(SMALL, 64, peak, bandwidth)
    at = lambda batch: phase_cost(SMALL, "decode", batch, 64)["arithmetic_intensity"]
    assert at(b) >= ridge > at(b - 1)
    assert attainable_flops(at(b), peak, bandwidth) == peak
    assert attainable_flops(at(b - 1), peak, bandwidth) < peak


def test_a_long_context_keeps_decoding_memory_bound_at_any_batch():
    # Llama 3.1 8B on an H100's published ratio (989 TFLOP/s bf16, 3.35 TB/s): each sequence's
    # 32 layers x 8 KV heads x 128 x 2 x 2 bytes per token outweighs its FLOPs past a few hundred tokens
    cfg = zoo_model("llama-3.1-8b").config
    assert math.isfinite(critical_batch(cfg, 128, 989e12, 3.35e12, "bfloat16"))
    assert critical_batch(cfg, 4096, 989e12, 3.35e12, "bfloat16") == math.inf


def test_bad_phase_or_sizes_are_refused():
    with pytest.raises(ValueError, match="unknown phase 'train'"):
        phase_cost(SMALL, "train", 1, 1)
    with pytest.raises(ValueError, match="batch=0"):
        phase_cost(SMALL, "decode", 0, 1)


def test_the_committed_roofline_result_matches_the_formulas_and_the_roof():
    files = sorted(glob.glob(str(REPO / "benchmarks/results/roofline-*.json")))
    assert files, "no committed roofline result: run python benchmarks/record.py roofline"
    result = json.loads(open(files[-1]).read())
    peak, bandwidth = result["matmul_peak_gflops"] * 1e9, result["memory_bandwidth_gbs"] * 1e9
    assert {(r["phase"], r["batch"]) for r in result["rows"]} >= {
        (p, b) for p in ("prefill", "decode") for b in (1, 8, 64)}
    for row in result["rows"]:
        cost = phase_cost(preset(row["preset"]).model, row["phase"], row["batch"], row["tokens"])
        assert row["arithmetic_intensity"] == pytest.approx(cost["arithmetic_intensity"], rel=1e-3)
        roof = attainable_flops(cost["arithmetic_intensity"], peak, bandwidth)
        assert row["achieved_gflops"] == pytest.approx(cost["flops"] / row["seconds"] / 1e9, rel=1e-2)
        assert row["roof_gflops"] == pytest.approx(roof / 1e9, rel=1e-2)
