"""Scaling-law fits recover the constants that generated synthetic losses; the committed isoFLOP
sweep is complete, agrees with today's parameter and FLOP formulas, and its cheapest point,
trained again, lands within the noise the sweep recorded."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import numpy as np
import pytest

from rawweights_jax.analysis.counts import flops_per_token, param_counts
from rawweights_jax.analysis.scaling import (LawFit, bootstrap_law, fit_law, isoflop_frontier,
                                             isoflop_minimum, law_optimum, power_law)

REPO = Path(__file__).resolve().parents[1]
TRUE = LawFit(E=1.3, A=40.0, B=300.0, alpha=0.4, beta=0.3, huber=0.0)
K = 6.0     # C = K N D in the synthetic sweeps


def synthetic_sweep(noise: float = 0.002, seed: int = 0):
    """A sweep shaped like the real one (3 budgets, 4 sizes each) with losses from TRUE."""
    rng = np.random.default_rng(seed)
    C = np.repeat([1e12, 3e12, 1e13], 4)
    N = np.concatenate([np.geomspace(2e4, 3e5, 4), np.geomspace(5e4, 6e5, 4), np.geomspace(1e5, 1e6, 4)])
    D = C / (K * N)
    L = TRUE.predict(N, D) * np.exp(rng.normal(0, noise, N.size))
    return C, N, D, L


def test_the_huber_fit_recovers_the_constants_that_made_the_losses():
    _, N, D, L = synthetic_sweep()
    fit = fit_law(N, D, L)
    assert fit.alpha == pytest.approx(TRUE.alpha, abs=0.03)
    assert fit.beta == pytest.approx(TRUE.beta, abs=0.03)
    assert fit.E == pytest.approx(TRUE.E, abs=0.1)
    assert fit.A == pytest.approx(TRUE.A, rel=0.25) and fit.B == pytest.approx(TRUE.B, rel=0.25)
    # without noise the fit is exact
    _, N, D, L = synthetic_sweep(noise=0.0)
    exact = fit_law(N, D, L)
    np.testing.assert_allclose(exact.predict(N, D), L, rtol=1e-4)


def test_bootstrap_intervals_bracket_the_true_exponents_and_widen_with_noise():
    _, N, D, L = synthetic_sweep(noise=0.002)
    quiet = bootstrap_law(N, D, L, n_boot=6, budgets=(1e12,), flops_per_param_token=K)
    for name in ("alpha", "beta"):
        lo, hi = quiet[name]["low"], quiet[name]["high"]
        assert lo - 0.02 <= getattr(TRUE, name) <= hi + 0.02, (name, lo, hi)
    _, N, D, L = synthetic_sweep(noise=0.02)
    noisy = bootstrap_law(N, D, L, n_boot=6)
    width = lambda r: r["beta"]["high"] - r["beta"]["low"]
    assert width(noisy) > width(quiet)
    assert "tokens_per_param@1e+12" in quiet and "a" in quiet


def test_the_law_optimum_is_the_minimum_of_the_loss_along_a_budget():
    C = 3e12
    best = law_optimum(TRUE, C, K)
    N = np.geomspace(1e3, 1e8, 20001)
    L = TRUE.predict(N, C / (K * N))
    assert best["N_opt"] == pytest.approx(N[np.argmin(L)], rel=0.002)
    assert best["tokens_per_param"] == pytest.approx(C / K / best["N_opt"] ** 2)
    assert best["loss"] == pytest.approx(L.min(), rel=1e-6)


def test_isoflop_parabolas_find_each_budgets_minimum_and_the_power_laws_through_them():
    assert isoflop_minimum([1e4, 1e5, 1e6], [3.0, 2.0, 3.0]) == pytest.approx(1e5)
    with pytest.raises(ValueError, match="curves downward"):
        isoflop_minimum([1e4, 1e5, 1e6], [2.0, 3.0, 2.0])
    k, exponent = power_law([1e12, 1e13, 1e14], [2e4, 2e4 * 10**0.5, 2e5])
    assert exponent == pytest.approx(0.5) and k == pytest.approx(2e4 / 1e6)
    # curves from 1/4 to 4 times each budget's optimum, as a sweep that brackets them would be
    budgets = np.array([1e12, 3e12, 1e13])
    truth = law_optimum(TRUE, budgets, K)
    C = np.repeat(budgets, 4)
    N = np.concatenate([n * np.geomspace(0.25, 4, 4) for n in truth["N_opt"]])
    frontier = isoflop_frontier(C, N, TRUE.predict(N, C / (K * N)), lambda n: K * n)
    # a parabola through four points of each curve: close to the law's own optimum
    np.testing.assert_allclose(frontier["N_opt"], truth["N_opt"], rtol=0.2)
    assert frontier["N_law"]["a"] == pytest.approx(TRUE.beta / (TRUE.alpha + TRUE.beta), abs=0.05)


@pytest.mark.parametrize("call, message", [
    (lambda: fit_law([1e4, -2.0, 1e5, 1e6, 1e7], [1e6] * 5, [2.0] * 5), "N must be positive.*-2.0"),
    (lambda: fit_law([1e4, 1e5], [1e6, 1e6, 1e6], [2.0, 2.0]), "one length"),
    (lambda: fit_law([1e4] * 4, [1e6] * 4, [2.0] * 4), "at least 5 runs, got 4"),
    (lambda: isoflop_minimum([1e4, 1e5], [2.0, 1.0]), "at least 3 runs"),
    (lambda: power_law([1e12, 1e12], [1e4, 2e4]), "at least 2 distinct budgets"),
    (lambda: bootstrap_law([1e4] * 5, [1e6] * 5, [2.0] * 5, level=95), "level must be in"),
])
def test_bad_input_is_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ----------------------------------------------------------------------------- the committed sweep
def latest_result() -> dict:
    files = sorted(glob.glob(str(REPO / "benchmarks" / "results" / "scaling-*.json")))
    assert files, "no committed benchmarks/results/scaling-*.json"
    return json.loads(Path(files[-1]).read_text())


def test_the_committed_sweep_is_complete_and_matches_todays_formulas():
    from rawweights_jax.bench.scaling import CONTEXT, model_config

    result = latest_result()
    for key in ("device", "date", "command", "commit", "wall_seconds", "noise", "fit"):
        assert key in result, key
    runs = [r for r in result["runs"]]
    budgets = {r["budget"] for r in runs}
    assert len(budgets) >= 3
    assert all(len({r["params"] for r in runs if r["budget"] == c}) >= 4 for c in budgets)
    for r in runs:
        cfg = model_config(r["shape"])
        assert r["params"] == param_counts(cfg)["total"]
        assert r["flops"] == pytest.approx(r["tokens"] * flops_per_token(cfg, CONTEXT)["train"])
        assert r["flops"] == pytest.approx(r["budget"], rel=0.05)   # whole steps: near the budget
    for name in ("E", "A", "B", "alpha", "beta"):
        interval = result["fit"]["approach3"][name]
        assert 0 < interval["low"] < interval["high"] < np.inf, (name, interval)
    assert result["wall_seconds"] <= 30 * 60


def test_a_rerun_of_the_cheapest_point_lands_within_the_recorded_noise(shakespeare, mesh2):
    from rawweights_jax.bench.scaling import train_point

    result = latest_result()
    first = min(result["runs"], key=lambda r: r["flops"])
    again = train_point(first["budget"], first["shape"], shakespeare, seed=first["seed"], mesh=mesh2)
    assert again["tokens"] == first["tokens"] and again["params"] == first["params"]
    assert abs(again["val_loss"] - first["val_loss"]) <= result["noise"]["tolerance"], \
        (again["val_loss"], first["val_loss"], result["noise"])
