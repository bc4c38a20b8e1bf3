"""Scaling laws: fit how loss falls with parameters N and training tokens D, then ask how a
compute budget C is best split between them.

Two of the three ways of Hoffmann et al. 2022 ("Training Compute-Optimal Large Language
Models", arXiv 2203.15556), as pure functions of measured runs:

- approach 3: fit the surface L(N, D) = E + A / N^alpha + B / D^beta to every run at once,
  minimising the Huber loss of log-loss residuals with L-BFGS from a grid of starts (the paper's
  recipe: delta = 1e-3, the parameters written as a = log A, b = log B, e = log E so that the
  prediction is a log-sum-exp); intervals come from refitting runs resampled with replacement;
- approach 2: on each isoFLOP curve (runs of one budget C), fit a parabola to the loss against
  log N; its vertex is that budget's best N, and power laws N_opt ~ C^a, D_opt ~ C^b through
  the vertices say how to grow each with compute.

Both give compute-optimal tokens per parameter D_opt / N_opt, which Chinchilla put near 20.
Nothing here trains or reads files: bench/scaling.py measures the runs, the page plots them.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

HUBER_DELTA = 1e-3
"""Hoffmann et al.'s Huber threshold on log-loss residuals: small, so outliers weigh linearly."""
EXPONENTS = np.linspace(0.05, 1.5, 30)
"""Exponents tried for alpha and beta when choosing L-BFGS starts (see `starting_points`)."""


class LawFit(NamedTuple):
    """Fitted constants of L(N, D) = E + A / N^alpha + B / D^beta, and the objective reached."""

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    huber: float       # summed Huber loss of the log residuals at the optimum

    def predict(self, N, D) -> np.ndarray:
        N, D = np.asarray(N, float), np.asarray(D, float)
        return self.E + self.A / N**self.alpha + self.B / D**self.beta


def _check_runs(**arrays) -> list[np.ndarray]:
    """Equal-length 1-D arrays of positive, finite numbers, or a ValueError naming the bad one."""
    out = [np.asarray(v, float) for v in arrays.values()]
    sizes = {name: a.shape for name, a in zip(arrays, out)}
    if len(set(sizes.values())) != 1 or out[0].ndim != 1:
        raise ValueError(f"expected 1-D arrays of one length, got shapes {sizes}")
    for name, a in zip(arrays, out):
        bad = a[~(np.isfinite(a) & (a > 0))]
        if bad.size:
            raise ValueError(f"{name} must be positive and finite, got {bad[0]!r}")
    return out


# --8<-- [start:objective]
def _objective(theta, logN, logD, logL, delta):
    """Summed Huber loss of log L - LSE(a - alpha log N, b - beta log D, e), with its gradient,
    both divided by delta: residuals ~1e-3 make the raw sum ~1e-4, where L-BFGS's stopping
    tests (relative to the objective's scale) would stop it early."""
    a, b, e, alpha, beta = theta
    terms = np.stack([a - alpha * logN, b - beta * logD, np.full_like(logN, e)])
    pred = logsumexp(terms, axis=0)
    r = pred - logL
    small = np.abs(r) <= delta
    loss = np.where(small, 0.5 * r**2, delta * (np.abs(r) - 0.5 * delta)).sum()
    dr = np.where(small, r, delta * np.sign(r))       # d huber / d residual
    w = np.exp(terms - pred) * dr                      # softmax weights of the three terms
    grad = np.array([w[0].sum(), w[1].sum(), w[2].sum(),
                     -(w[0] * logN).sum(), -(w[1] * logD).sum()])
    return loss / delta, grad / delta
# --8<-- [end:objective]


def starting_points(N, D, L, n: int = 3) -> list[tuple[float, ...]]:
    """The `n` best (a, b, e, alpha, beta) over a grid of exponents, E, A and B solved for.

    Once alpha and beta are fixed the law is linear in E, A and B: a weighted least-squares
    solve (weights 1/L, so residuals are relative, like log residuals) gives them at once. A
    grid of 30 x 30 exponents then costs less than one L-BFGS run, and starting the Huber fit
    from its best points avoids the flat valleys where a blind grid of starts stops early
    (Hoffmann et al. start from 4,500 grid points instead)."""
    pairs = list(itertools.product(EXPONENTS, EXPONENTS))
    X = np.stack([np.stack([np.ones_like(N), N**-al, D**-be], 1) for al, be in pairs]) / L[:, None]
    y = np.ones_like(L)                               # L / L: the weighted target
    coef = np.linalg.solve(X.transpose(0, 2, 1) @ X + 1e-12 * np.eye(3),
                           (X.transpose(0, 2, 1) @ y)[..., None])[..., 0]
    sse = ((X @ coef[..., None])[..., 0] - y) ** 2
    ok = np.all(coef > 0, axis=1)
    order = [i for i in np.argsort(sse.sum(1)) if ok[i]][:n]
    return [(np.log(coef[i, 1]), np.log(coef[i, 2]), np.log(coef[i, 0]), *pairs[i]) for i in order]


def fit_law(N, D, L, *, delta: float = HUBER_DELTA, starts=None) -> LawFit:
    """Approach 3: the constants of L(N, D) minimising the Huber loss of log residuals.

    `starts` (default: `starting_points`) is a sequence of (a, b, e, alpha, beta) tuples; the
    best of the L-BFGS runs from them is returned. Exponents are kept in [0, 5].
    """
    N, D, L = _check_runs(N=N, D=D, L=L)
    if len(N) < 5:
        raise ValueError(f"fitting five constants needs at least 5 runs, got {len(N)}")
    logs = (np.log(N), np.log(D), np.log(L), delta)
    starts = starting_points(N, D, L) if starts is None else starts
    if not starts:
        raise ValueError("no starting point with positive E, A and B: the losses do not fall "
                         "with N and D as the law says")
    bounds = [(None, None)] * 3 + [(0.0, 5.0)] * 2
    best = None
    for x0 in starts:
        res = minimize(_objective, np.asarray(x0, float), args=logs, jac=True, method="L-BFGS-B",
                       bounds=bounds, options={"ftol": 1e-10, "gtol": 1e-6, "maxiter": 1000})
        if best is None or res.fun < best.fun:
            best = res
    a, b, e, alpha, beta = best.x
    return LawFit(float(np.exp(e)), float(np.exp(a)), float(np.exp(b)), float(alpha),
                  float(beta), float(best.fun * delta))


def _as_start(fit: LawFit) -> tuple[float, ...]:
    return (np.log(fit.A), np.log(fit.B), np.log(fit.E), fit.alpha, fit.beta)


# --8<-- [start:optimum]
def law_optimum(fit: LawFit, C, flops_per_param_token: float = 6.0) -> dict[str, np.ndarray]:
    """The best split of budget C under the fitted law when C = k N D (k = flops_per_param_token):
    N_opt = G (C/k)^(beta/(alpha+beta)) with G = (alpha A / (beta B))^(1/(alpha+beta)),
    D_opt = (C/k) / N_opt (Hoffmann et al. 2022, eq. 4)."""
    C = np.asarray(C, float)
    s = fit.alpha + fit.beta
    G = (fit.alpha * fit.A / (fit.beta * fit.B)) ** (1 / s)
    N = G * (C / flops_per_param_token) ** (fit.beta / s)
    D = C / flops_per_param_token / N
    return {"N_opt": N, "D_opt": D, "tokens_per_param": D / N, "loss": fit.predict(N, D)}
# --8<-- [end:optimum]


def bootstrap_law(N, D, L, *, n_boot: int = 200, seed: int = 0, level: float = 0.95,
                  budgets=(), flops_per_param_token: float = 6.0) -> dict:
    """The fit on all runs with percentile intervals from `n_boot` refits on runs resampled
    with replacement; each refit starts from the full fit and the resample's own best points.

    Returns {name: {"value", "low", "high"}} for E, A, B, alpha, beta, the exponent
    a = beta/(alpha+beta) of N_opt ~ C^a, and tokens per parameter at each of `budgets`.
    """
    N, D, L = _check_runs(N=N, D=D, L=L)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    full = fit_law(N, D, L)
    rng = np.random.default_rng(seed)

    def derived(fit: LawFit) -> dict[str, float]:
        out = {k: getattr(fit, k) for k in ("E", "A", "B", "alpha", "beta")}
        out["a"] = fit.beta / (fit.alpha + fit.beta)
        for C in budgets:
            out[f"tokens_per_param@{C:.3g}"] = float(
                law_optimum(fit, C, flops_per_param_token)["tokens_per_param"])
        return out

    samples = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(N), len(N))
        if len(np.unique(idx)) < 5:        # too few distinct runs to pin five constants
            continue
        starts = [_as_start(full), *starting_points(N[idx], D[idx], L[idx], n=2)]
        samples.append(derived(fit_law(N[idx], D[idx], L[idx], starts=starts)))
    q = 100 * (1 - level) / 2
    return {k: {"value": v, "low": float(np.percentile([s[k] for s in samples], q)),
                "high": float(np.percentile([s[k] for s in samples], 100 - q))}
            for k, v in derived(full).items()}


# --8<-- [start:isoflop]
def isoflop_minimum(N, L) -> float:
    """Approach 2 on one budget: the vertex of the parabola L = c2 x^2 + c1 x + c0, x = log N."""
    N, L = _check_runs(N=N, L=L)
    if len(N) < 3:
        raise ValueError(f"a parabola needs at least 3 runs on the curve, got {len(N)}")
    c2, c1, _ = np.polyfit(np.log(N), L, 2)
    if c2 <= 0:
        raise ValueError(f"the loss against log N curves downward (x^2 coefficient {c2:.3g}): "
                         "no minimum on this isoFLOP curve")
    return float(np.exp(-c1 / (2 * c2)))


def power_law(C, X) -> tuple[float, float]:
    """(k, exponent) of X = k C^exponent, by least squares on the logs."""
    C, X = _check_runs(C=C, X=X)
    if len(np.unique(C)) < 2:
        raise ValueError(f"a power law needs at least 2 distinct budgets, got {np.unique(C)}")
    exponent, logk = np.polyfit(np.log(C), np.log(X), 1)
    return float(np.exp(logk)), float(exponent)
# --8<-- [end:isoflop]


def isoflop_frontier(C, N, L, flops_per_token) -> dict:
    """Approach 2 on a sweep: each budget's N_opt (vertex), D_opt = C / (FLOPs per token at
    N_opt), tokens per parameter, and power laws N_opt ~ C^a, D_opt ~ C^b.

    `flops_per_token(N)` gives the training FLOPs per token of a model of N parameters (for a
    sweep's shapes: interpolate the runs' own figures, analysis/counts.py)."""
    C, N, L = _check_runs(C=C, N=N, L=L)
    budgets = np.unique(C)
    N_opt = np.array([isoflop_minimum(N[C == c], L[C == c]) for c in budgets])
    D_opt = budgets / np.array([flops_per_token(n) for n in N_opt])
    kN, a = power_law(budgets, N_opt)
    kD, b = power_law(budgets, D_opt)
    return {"C": budgets, "N_opt": N_opt, "D_opt": D_opt, "tokens_per_param": D_opt / N_opt,
            "N_law": {"k": kN, "a": a}, "D_law": {"k": kD, "b": b}}
