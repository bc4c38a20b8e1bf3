"""The raw weights themselves: what a trained model's matrices look like, measured by pure
functions on the weights (and, for gradients and attention, on one batch of text).

- `weight_matrices(params)`: every matrix of a model as a 2-D array, inputs along the rows.
  The fused query/key/value weight is split into its three maps (`...attn.wq`, `.wk`, `.wv`,
  all heads side by side), since each is a different linear map and one spectrum of the fused
  tensor would mix them. `gradient_norms` reads a gradient through the same names.
- `weight_stats`: mean, spread, largest entry and tails (excess kurtosis) of one matrix.
- `eigenvalues`, `singular_values`, `fit_power_law`: the spectrum of a matrix, and the exponent alpha of a
  power law p(x) ~ x^-alpha fitted to the tail of its eigenvalues (those of W^T W, the squared
  singular values) by maximum likelihood, with the tail's start chosen by the Kolmogorov-Smirnov
  distance, as in Clauset, Shalizi & Newman, "Power-law distributions in empirical data"
  (SIAM Review, 2009). Martin & Mahoney ("Implicit self-regularization in deep neural
  networks", JMLR 2021; the WeightWatcher tool) read a small alpha (about 2 to 6) as a layer
  that training has shaped, and a large one as a layer still close to its random start.
- `attention_summary`, `name_heads`: the mean weight each head puts on a few keys that a rule
  names per query (itself; the character 1, 2, 3 back; the space before the current word; the
  line break that began the current line; the first position), against what an even spread
  over the visible keys would put there, and a name for each head from those shares.
- `cosine_similarity`, `pca_2d`, `char_class`: the geometry of an embedding table.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from rawweights_jax.core.names import leaf_name, weight_name
from rawweights_jax.nn.quant import QUANTIZABLE
from rawweights_jax.train.loss import cross_entropy

LOOKUPS = ("wte_VD", "wpe_TD")
"""Tables read by row (token and position embeddings): matrices too, with one row per entry."""

KINDS = {"wq": "Q", "wk": "K", "wv": "V", "wo_NHD": "O", "w_in_DF": "MLP in",
         "w_up_DF": "MLP up", "w_out_FD": "MLP out", "wte_VD": "tokens", "wpe_TD": "positions",
         "lm_head_DV": "output"}
"""The short label of each matrix's last name part, for tables and legends."""


def _as_matrices(name: str, w) -> dict[str, np.ndarray]:
    """One weight as named 2-D matrices [inputs, outputs]."""
    leaf = name.rsplit(".", 1)[-1]
    w = np.asarray(jax.device_get(w), np.float32)
    if leaf == "wqkv_DKJH":                 # per key/value group: G query heads, a key, a value
        D, K, J, H = w.shape
        base = name.rsplit(".", 1)[0]
        return {f"{base}.wq": w[:, :, :J - 2].reshape(D, -1), f"{base}.wk": w[:, :, J - 2].reshape(D, -1),
                f"{base}.wv": w[:, :, J - 1].reshape(D, -1)}
    if leaf in QUANTIZABLE:                 # the number of leading axes a product contracts
        rows = math.prod(w.shape[:QUANTIZABLE[leaf]])
        return {name: w.reshape(rows, -1)}
    if leaf in LOOKUPS:
        return {name: w}
    raise ValueError(f"weight {name!r} of shape {w.shape} is not a matrix this analysis knows: "
                     f"expected one of wqkv_DKJH, {', '.join(sorted(QUANTIZABLE))}, {', '.join(LOOKUPS)}")


# --8<-- [start:matrices]
def weight_matrices(params) -> dict[str, np.ndarray]:
    """name -> matrix [inputs, outputs] for every matrix in `params` (an nnx.State or a model),
    in the model's order; norm scales and biases are left out (they are vectors)."""
    if isinstance(params, nnx.Module):
        params = nnx.state(params, nnx.Param)
    out = {}
    for path, w in jax.tree_util.tree_flatten_with_path(params)[0]:
        leaf = leaf_name(path)
        if leaf.startswith(("b", "scale")) or leaf in ("q_norm", "k_norm"):
            continue                         # a bias or a norm scale: one number per feature
        out.update(_as_matrices(weight_name(path).removesuffix(".value"), w))
    return out
# --8<-- [end:matrices]


def layer_of(name: str) -> int | None:
    """The block a matrix belongs to (`blocks.2.attn.wq` -> 2), None outside the blocks."""
    parts = name.split(".")
    return int(parts[1]) if parts[0] == "blocks" and len(parts) > 1 and parts[1].isdigit() else None


def kind_of(name: str) -> str:
    """The short label of a matrix (`blocks.2.attn.wq` -> 'Q'), or its last name part."""
    leaf = name.rsplit(".", 1)[-1]
    return KINDS.get(leaf, leaf)


@dataclasses.dataclass(frozen=True)
class WeightStats:
    """Summary of one matrix's entries."""

    n: int            # entries
    mean: float
    std: float
    abs_max: float
    kurtosis: float   # excess kurtosis: 0 for a Gaussian, large when a few entries stand out


def weight_stats(w) -> WeightStats:
    """Mean, standard deviation, largest |entry| and excess kurtosis of `w` (any shape)."""
    x = np.asarray(w, np.float64).ravel()
    if x.size < 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"weight_stats needs at least 2 finite entries, got {x.size} "
                         f"({int(np.sum(~np.isfinite(x)))} not finite)")
    std = float(x.std())
    kurt = float(np.mean(((x - x.mean()) / std) ** 4) - 3.0) if std > 0 else 0.0
    return WeightStats(x.size, float(x.mean()), std, float(np.abs(x).max()), kurt)


def eigenvalues(w_IO) -> np.ndarray:
    """The empirical spectral density's points: the eigenvalues of W^T W (the squared singular
    values), largest first (float64). Taken from the smaller of W^T W and W W^T, which share
    their nonzero eigenvalues: a symmetric eigenproblem of at most 128 x 128 here, which costs a
    tenth of the CPU time of an SVD when other processes compete for the cores (measured)."""
    w_IO = np.asarray(w_IO, np.float64)
    if w_IO.ndim != 2:
        raise ValueError(f"eigenvalues needs a matrix, got shape {w_IO.shape}")
    gram = w_IO.T @ w_IO if w_IO.shape[1] <= w_IO.shape[0] else w_IO @ w_IO.T
    return np.clip(np.linalg.eigvalsh(gram)[::-1], 0.0, None)   # rounding can dip below 0


def singular_values(w_IO) -> np.ndarray:
    """The singular values of a matrix, largest first (float64)."""
    return np.sqrt(eigenvalues(w_IO))


@dataclasses.dataclass(frozen=True)
class PowerLawFit:
    """p(x) ~ x^-alpha for x >= xmin, fitted to the `n_tail` largest values."""

    alpha: float
    xmin: float
    n_tail: int
    ks: float       # Kolmogorov-Smirnov distance between the tail and the fitted law
    sigma: float    # standard error of alpha, (alpha - 1) / sqrt(n_tail)


# --8<-- [start:fit]
# --8<-- [start:mle]
def _alpha(tail: np.ndarray) -> float:
    """Maximum-likelihood exponent of a continuous power law above tail[0] (CSN eq. 3.1)."""
    return 1.0 + len(tail) / np.sum(np.log(tail / tail[0]))


def _ks(tail: np.ndarray, alpha: float) -> float:
    """Largest gap between the tail's empirical CDF and the law's, 1 - (x / xmin)^(1 - alpha)."""
    n = len(tail)
    model = 1.0 - (tail / tail[0]) ** (1.0 - alpha)
    return float(max(np.max(np.arange(1, n + 1) / n - model), np.max(model - np.arange(n) / n)))
# --8<-- [end:mle]


def fit_power_law(x, min_tail: int = 10) -> PowerLawFit:
    """Fit the tail of the positive values `x` (eigenvalues, say): for every candidate xmin
    leaving at least `min_tail` values at or above it, alpha by maximum likelihood; keep the
    xmin whose fitted law is closest to the data in the Kolmogorov-Smirnov distance."""
    x = np.sort(np.asarray(x, np.float64).ravel())
    x = x[np.isfinite(x) & (x > 0)]
    if min_tail < 2 or len(x) < min_tail:
        raise ValueError(f"fit_power_law needs min_tail >= 2 positive values, got {len(x)} "
                         f"positive values and min_tail={min_tail}")
    best = None
    for start in range(len(x) - min_tail + 1):
        tail = x[start:]
        if start and tail[0] == x[start - 1] or tail[-1] == tail[0]:
            continue                          # a repeated xmin, or a tail with no spread
        alpha = _alpha(tail)
        ks = _ks(tail, alpha)
        if best is None or ks < best.ks:
            best = PowerLawFit(float(alpha), float(tail[0]), len(tail), ks,
                               float((alpha - 1) / math.sqrt(len(tail))))
    if best is None:
        raise ValueError(f"fit_power_law: all {len(x)} values are equal ({x[0]}); no tail to fit")
    return best
# --8<-- [end:fit]


def spectrum_alpha(w_IO, min_tail: int = 10) -> PowerLawFit:
    """The power-law fit of the eigenvalues of W^T W (the squared singular values of W)."""
    return fit_power_law(eigenvalues(w_IO), min_tail)


@nnx.jit(static_argnums=3)
def _gradients(model: nnx.Module, tokens_BT, targets_BT, loss_fn):
    return nnx.grad(lambda m: loss_fn(m(tokens_BT), targets_BT))(model)


def gradient_norms(model: nnx.Module, tokens_BT, targets_BT, loss_fn=cross_entropy) -> dict[str, float]:
    """name -> Frobenius norm of the loss's gradient for each matrix of `weight_matrices`, on one
    batch (no dropout): how strongly one step would push each matrix, before the optimizer.
    One compiled program (eager, JAX would compile every operation of the pass on its own)."""
    grads = _gradients(model, jnp.asarray(tokens_BT), jnp.asarray(targets_BT), loss_fn)
    return {name: float(np.linalg.norm(g)) for name, g in weight_matrices(grads).items()}


RULES = ("self", "1 back", "2 back", "3 back", "word start", "line start", "first")
"""What `attention_summary` scores: the query's own position; the key 1, 2 or 3 characters
before it; the space before the current word and the line break that began the current line
(each only when it is at least 2 back, so that it is not merely the previous character, and
the space only when it lies on the query's line); position 0 (for queries at least 2 in, where
it is neither the query itself nor the previous character)."""

LOCAL = ("self", "1 back", "2 back", "3 back")
"""The rules of a head that reads the last few characters (`name_heads` calls it 'recent')."""


def _last_before(ids_BT, token: int) -> np.ndarray:
    """[B, T]: the last position before t holding `token`, -1 if none."""
    B, T = ids_BT.shape
    seen_BT = np.maximum.accumulate(np.where(ids_BT == token, np.arange(T), -1), axis=1)
    return np.concatenate([np.full((B, 1), -1), seen_BT[:, :-1]], axis=1)


# --8<-- [start:rules]
def rule_keys(ids_BT, newline: int, space: int) -> dict[str, np.ndarray]:
    """rule -> key_BT: the key each rule names for each query, -1 where it names none."""
    ids_BT = np.asarray(ids_BT)
    B, T = ids_BT.shape
    t_BT = np.broadcast_to(np.arange(T), (B, T))
    keys = {"self": np.where(t_BT >= 1, t_BT, -1)}   # at t = 0 there is nothing else to read
    keys.update({f"{d} back": np.where(t_BT >= d, t_BT - d, -1) for d in (1, 2, 3)})
    line_BT, word_BT = _last_before(ids_BT, newline), _last_before(ids_BT, space)
    keys["word start"] = np.where((word_BT > line_BT) & (t_BT - word_BT >= 2), word_BT, -1)
    keys["line start"] = np.where((line_BT >= 0) & (t_BT - line_BT >= 2), line_BT, -1)
    keys["first"] = np.where(t_BT >= 2, 0, -1)
    return keys
# --8<-- [end:rules]


def attention_summary(probs_LBNTS, ids_BT, newline: int, space: int) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """(rule -> share_LN, rule -> even): the mean weight each head puts on each rule's key,
    over the queries where the rule names one, and what an even spread over the t + 1 visible
    keys would put there (the mean of 1 / (t + 1) over the same queries)."""
    probs_LBNTS, ids_BT = np.asarray(probs_LBNTS), np.asarray(ids_BT)
    if probs_LBNTS.ndim != 5 or probs_LBNTS.shape[1] != ids_BT.shape[0] or \
            probs_LBNTS.shape[3] != ids_BT.shape[1] or probs_LBNTS.shape[4] != ids_BT.shape[1]:
        raise ValueError(f"attention_summary needs probs [L, B, N, T, T] for ids [B, T]: got probs "
                         f"{probs_LBNTS.shape} and ids {ids_BT.shape}")
    shares, evens = {}, {}
    for rule, key_BT in rule_keys(ids_BT, newline, space).items():
        b, t = np.nonzero(key_BT >= 0)
        if len(b) == 0:
            raise ValueError(f"no query in ids {ids_BT.shape} has a key for the rule {rule!r}")
        shares[rule] = probs_LBNTS[:, b, :, t, key_BT[b, t]].mean(axis=0)   # [queries, L, N] -> [L, N]
        evens[rule] = float(np.mean(1.0 / (t + 1)))
    return shares, evens


def name_heads(shares: dict[str, np.ndarray], evens: dict[str, float], min_share: float = 0.3,
               min_lift: float = 3.0, min_recent: float = 0.5) -> np.ndarray:
    """[L, N] names: the rule a head gives the most weight to, among those it gives at least
    `min_share` of its weight and `min_lift` times an even spread's; failing that, 'recent'
    where the LOCAL rules together take at least `min_recent`, and 'spread' elsewhere."""
    rules = list(shares)
    share_RLN = np.stack([shares[r] for r in rules])
    ok_RLN = (share_RLN >= min_share) & (share_RLN >= min_lift * np.array([evens[r] for r in rules])[:, None, None])
    best_LN = np.where(ok_RLN, share_RLN, -1.0).argmax(0)
    recent_LN = sum(shares[r] for r in LOCAL if r in shares) >= min_recent
    fallback_LN = np.where(recent_LN, "recent", "spread").astype(object)
    return np.where(ok_RLN.any(0), np.array(rules, dtype=object)[best_LN], fallback_LN)


def cosine_similarity(w_VD) -> np.ndarray:
    """[V, V] cosine of the angle between every two rows."""
    w_VD = np.asarray(w_VD, np.float64)
    unit_VD = w_VD / np.linalg.norm(w_VD, axis=-1, keepdims=True)
    return unit_VD @ unit_VD.T


def pca_2d(w_VD) -> tuple[np.ndarray, np.ndarray]:
    """(xy_V2, share_2): the rows projected on their two main directions (after centring), and
    the share of the total variance each direction carries."""
    centred_VD = np.asarray(w_VD, np.float64) - np.mean(w_VD, axis=0)
    _, s, directions = np.linalg.svd(centred_VD, full_matrices=False)
    return centred_VD @ directions[:2].T, s[:2] ** 2 / np.sum(s ** 2)


CHAR_CLASSES = ("vowel", "consonant", "capital", "punctuation", "space")


def char_class(c: str) -> str:
    """Which of CHAR_CLASSES a character is (lower-case vowels and consonants; capitals;
    whitespace; everything else, digits included, is punctuation)."""
    if len(c) != 1:
        raise ValueError(f"char_class takes one character, got {c!r}")
    if c.isspace():
        return "space"
    if c.isupper():
        return "capital"
    if c.islower():
        return "vowel" if c in "aeiou" else "consonant"
    return "punctuation"
