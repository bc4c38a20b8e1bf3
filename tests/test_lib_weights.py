"""analysis/weights.py: the matrices are the model's (split where fused), the power-law fit
recovers a known exponent, the attention summary finds planted heads, and bad input fails
with a message naming it."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from _lib_support import tiny_model
from rawweights_jax.analysis.weights import (
    RULES, attention_summary, char_class, cosine_similarity, fit_power_law, gradient_norms,
    kind_of, layer_of, name_heads, pca_2d, rule_keys, singular_values,
    spectrum_alpha, weight_matrices, weight_stats)
from rawweights_jax.model.gpt import init_model
from rawweights_jax.train.loss import cross_entropy


def pareto(alpha, n, xmin=1.0, seed=0):
    """n draws of p(x) ~ x^-alpha above xmin, by inverting its CDF."""
    u = np.random.default_rng(seed).random(n)
    return xmin * (1.0 - u) ** (-1.0 / (alpha - 1.0))


@pytest.fixture(scope="module")
def model():
    return init_model(tiny_model(n_kv_heads=1), seed=1)    # grouped-query: 1 key head, G = N


def test_matrices_split_the_fused_projection_and_skip_vectors(model):
    cfg = model.cfg
    mats = weight_matrices(model)
    D, N, H = cfg.d_model, cfg.n_heads, cfg.head_dim
    q, k, v = (mats[f"blocks.0.attn.{w}"] for w in ("wq", "wk", "wv"))
    assert q.shape == (D, N * H) and k.shape == v.shape == (D, cfg.n_kv_heads * H)
    wqkv_DKJH = np.asarray(model.blocks[0].attn.wqkv_DKJH[...])
    np.testing.assert_array_equal(q.reshape(D, 1, N, H), wqkv_DKJH[:, :, :N])
    np.testing.assert_array_equal(v, wqkv_DKJH[:, 0, -1])
    assert mats["blocks.1.attn.wo_NHD"].shape == (N * H, D)
    assert mats["blocks.0.mlp.w_out_FD"].shape == (cfg.d_ff, D)
    assert mats["wte_VD"].shape == (cfg.vocab_size, D)
    assert not any("scale" in name or ".b" in name for name in mats), "vectors are left out"
    assert layer_of("blocks.1.mlp.w_in_DF") == 1 and layer_of("wte_VD") is None
    assert kind_of("blocks.1.attn.wq") == "Q" and kind_of("blocks.0.mlp.w_out_FD") == "MLP out"


def test_unknown_multi_axis_weight_is_named():
    with pytest.raises(ValueError, match=r"'experts.w_gate_EDF' of shape \(2, 3, 4\)"):
        weight_matrices({"experts": {"w_gate_EDF": np.zeros((2, 3, 4))}})


def test_stats_of_a_gaussian():
    s = weight_stats(np.random.default_rng(0).normal(0.5, 2.0, 200_000))
    assert abs(s.mean - 0.5) < 0.02 and abs(s.std - 2.0) < 0.02 and abs(s.kurtosis) < 0.05
    heavy = weight_stats(np.random.default_rng(0).standard_t(5, 200_000))
    assert heavy.kurtosis > 2, "a heavy-tailed draw has positive excess kurtosis"
    with pytest.raises(ValueError, match="1 not finite"):
        weight_stats([1.0, np.nan, 2.0])


@pytest.mark.parametrize("alpha", [2.0, 3.0, 4.5])
def test_fit_recovers_the_exponent_of_a_power_law(alpha):
    fit = fit_power_law(pareto(alpha, 3000, xmin=0.7, seed=int(alpha * 10)))
    assert abs(fit.alpha - alpha) < max(0.15 * (alpha - 1), 3 * fit.sigma), fit
    assert fit.xmin >= 0.7 and fit.ks < 0.05


def test_fit_finds_where_the_tail_starts():
    # a uniform body on (0, 1) below a power-law tail of alpha 2.5 from 1 on: the KS choice of
    # xmin has to leave the body out, or the fitted exponent comes out far too small
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(0, 1, 3000), pareto(2.5, 1500, xmin=1.0, seed=2)])
    fit = fit_power_law(x)
    assert 0.9 <= fit.xmin <= 1.6, fit
    assert abs(fit.alpha - 2.5) < 0.25, fit
    start_at_zero = 1.0 + len(x) / np.sum(np.log(x / x.min()))
    assert start_at_zero < 1.6, "fitting everything would have been far off"


@pytest.mark.parametrize("shape", [(40, 7), (7, 40), (12, 12)])
def test_singular_values_are_numpys(shape):
    w = np.random.default_rng(3).normal(size=shape)
    s = np.linalg.svd(w, compute_uv=False)   # through the Gram matrix: exact to ~1e-8 of the largest
    np.testing.assert_allclose(singular_values(w), s, rtol=0, atol=1e-7 * s[0])
    with pytest.raises(ValueError, match=r"needs a matrix, got shape \(2, 3, 4\)"):
        singular_values(np.zeros((2, 3, 4)))


def test_fit_errors_name_the_problem():
    with pytest.raises(ValueError, match="got 3 positive values and min_tail=10"):
        fit_power_law([1.0, 2.0, 3.0, 0.0, -1.0])
    with pytest.raises(ValueError, match="all 12 values are equal"):
        fit_power_law(np.ones(12))


def test_random_matrix_spectrum_is_not_heavy_tailed():
    # a Gaussian matrix's eigenvalues follow Marchenko-Pastur, with a hard upper edge; Cauchy
    # entries (no finite variance) give a spectrum with a power-law tail of exponent below 2.
    # (On matrices this small the Gaussian's fitted alpha wanders: 4 to 13 over seeds.)
    rng = np.random.default_rng(0)
    w = rng.normal(size=(256, 256))
    gauss = spectrum_alpha(w)
    s = np.linalg.svd(w, compute_uv=False)
    assert gauss.alpha == pytest.approx(fit_power_law(s ** 2).alpha, rel=1e-6)
    heavy = spectrum_alpha(rng.standard_cauchy(size=(256, 256)))
    assert gauss.alpha > 4 > 2 > heavy.alpha, (gauss, heavy)


def test_gradient_norms_match_a_direct_gradient(model):
    cfg = model.cfg
    tokens_BT = jax.random.randint(jax.random.key(0), (2, cfg.context_len), 0, cfg.vocab_size)
    norms = gradient_norms(model, tokens_BT[:, :-1], tokens_BT[:, 1:])
    assert set(norms) == set(weight_matrices(model))
    graphdef, params = nnx.split(model, nnx.Param)      # the plain-JAX gradient, separately
    loss = lambda p: cross_entropy(nnx.merge(graphdef, p)(tokens_BT[:, :-1]), tokens_BT[:, 1:])
    g = jax.jit(jax.grad(loss))(params)
    direct = float(jnp.linalg.norm(g["blocks"][0]["mlp"]["w_in_DF"][...]))
    assert norms["blocks.0.mlp.w_in_DF"] == pytest.approx(direct, rel=1e-5)
    assert all(v > 0 for v in norms.values())


def planted(ids_BT, newline, space):
    """probs [L=1, B, N=4, T, T]: head 0 reads the previous character, head 1 the line break
    that began the line, head 2 spreads evenly over the past, head 3 splits its weight between
    itself and the three characters before it (1/4 each: no rule reaches 0.3)."""
    B, T = ids_BT.shape
    keys = rule_keys(ids_BT, newline, space)
    probs = np.zeros((1, B, 4, T, T))
    for b in range(B):
        for t in range(T):
            probs[0, b, 0, t, max(t - 1, 0)] = 1.0
            line = keys["line start"][b, t]
            probs[0, b, 1, t, line if line >= 0 else t] = 1.0
            probs[0, b, 2, t, :t + 1] = 1.0 / (t + 1)
            probs[0, b, 3, t, max(t - 3, 0):t + 1] = 1.0 / len(range(max(t - 3, 0), t + 1))
    return probs


TEXT = "ab cd\nefg hi\njk lmnop\nq"


def test_summary_finds_planted_heads():
    ids_BT = np.array([[ord(c) for c in TEXT]] * 2)
    newline, space = ord("\n"), ord(" ")
    shares, evens = attention_summary(planted(ids_BT, newline, space), ids_BT, newline, space)
    assert list(shares) == list(RULES) and shares["1 back"].shape == (1, 4)
    assert shares["1 back"][0, 0] == 1.0 and shares["2 back"][0, 0] == 0.0
    assert shares["line start"][0, 1] == 1.0 and shares["1 back"][0, 1] < 0.5
    np.testing.assert_allclose(shares["first"][0, 2], evens["first"])
    assert list(name_heads(shares, evens)[0]) == ["1 back", "line start", "spread", "recent"]


def test_rule_keys():
    keys = rule_keys(np.array([[ord(c) for c in "a\nbc d\nxy zw"]]), ord("\n"), ord(" "))
    # positions: a0 \n1 b2 c3 _4 d5 \n6 x7 y8 _9 z10 w11; a key 1 back is left to "1 back"
    assert list(keys["line start"][0]) == [-1, -1, -1, 1, 1, 1, 1, -1, 6, 6, 6, 6]
    assert list(keys["word start"][0]) == [-1, -1, -1, -1, -1, -1, 4, -1, -1, -1, -1, 9]
    assert list(keys["first"][0][:3]) == [-1, -1, 0] and keys["self"][0][0] == -1


def test_summary_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"got probs \(1, 2, 3, 5, 5\) and ids \(2, 6\)"):
        attention_summary(np.zeros((1, 2, 3, 5, 5)), np.zeros((2, 6), int), 10, 32)


def test_embedding_geometry():
    w_VD = np.array([[1.0, 0, 0], [2.0, 0, 0], [0, 3.0, 0], [0, 0, -1.0]])
    cos_VV = cosine_similarity(w_VD)
    np.testing.assert_allclose(np.diag(cos_VV), 1.0)
    assert cos_VV[0, 1] == pytest.approx(1.0) and cos_VV[0, 2] == pytest.approx(0.0)
    xy_V2, share_2 = pca_2d(np.random.default_rng(0).normal(size=(50, 8)) * [10, 5, 1, 1, 1, 1, 1, 1])
    assert xy_V2.shape == (50, 2) and share_2[0] > share_2[1] and share_2.sum() < 1
    assert [char_class(c) for c in "aZx!\n3"] == ["vowel", "capital", "consonant", "punctuation",
                                                 "space", "punctuation"]
    with pytest.raises(ValueError, match="one character, got 'ab'"):
        char_class("ab")
