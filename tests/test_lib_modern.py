"""The modern building blocks on their own (no torch needed): experts, latent attention, RoPE,
norm placements, every family's tiny model training and decoding, and bad HF inputs."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from _lib_support import forward
from rawweights_jax.nn.attention.mask import causal_mask
from rawweights_jax.config import ModelConfig, Runtime
from rawweights_jax.families.tiny import TINY_HF, tiny_config
from rawweights_jax.inference.generate import cached_logits
from rawweights_jax.families.hf_config import HFConfigError, config_from_hf
from rawweights_jax.families.hf_weights import HFWeightsError, load_hf
from rawweights_jax.model.gpt import init_model
from rawweights_jax.nn.moe import dispatch_dense, dispatch_sorted, route
from rawweights_jax.nn.rope import apply_rope, rope_frequencies, rope_table
from rawweights_jax.train.loop import train


# ----------------------------------------------------------------------------- experts
@pytest.mark.parametrize("n_tokens,n_experts,k,kind", [(1, 8, 2, "swiglu"), (7, 4, 3, "geglu"),
                                                       (300, 6, 2, "swiglu"), (64, 5, 1, "gelu")])
def test_sorted_dispatch_equals_dense_reference(n_tokens, n_experts, k, kind):
    D, F = 12, 20
    keys = jax.random.split(jax.random.key(0), 6)
    x_UD = jax.random.normal(keys[0], (n_tokens, D))
    w_in, w_up, w_out = (jax.random.normal(kk, s) * 0.3 for kk, s in
                         zip(keys[1:4], [(n_experts, D, F), (n_experts, D, F), (n_experts, F, D)]))
    w_up = None if kind == "gelu" else w_up
    experts_UO = jax.vmap(lambda kk: jax.random.permutation(kk, n_experts)[:k])(
        jax.random.split(keys[4], n_tokens))
    weights_UO = jax.random.uniform(keys[5], (n_tokens, k))

    def run(dispatch, w_in, w_out):
        return dispatch(kind, x_UD, weights_UO, experts_UO, w_in, w_up, w_out)

    sparse, load_s = run(dispatch_sorted, w_in, w_out)
    dense, load_d = run(dispatch_dense, w_in, w_out)
    np.testing.assert_allclose(sparse, dense, atol=1e-5, rtol=1e-5)
    np.testing.assert_array_equal(load_s, load_d)
    assert int(load_s.sum()) == n_tokens * k
    grad = lambda dispatch: jax.grad(lambda a, b: run(dispatch, a, b)[0].sum(), (0, 1))(w_in, w_out)
    for g_s, g_d in zip(grad(dispatch_sorted), grad(dispatch_dense)):
        np.testing.assert_allclose(g_s, g_d, atol=1e-4, rtol=1e-4)


def test_group_limited_routing_and_choice_bias():
    cfg = ModelConfig(n_experts=8, experts_per_token=2, router_groups=4, router_groups_per_token=1,
                 router_score="sigmoid", router_bias=True, router_norm_topk=True)
    x_UD = jax.random.normal(jax.random.key(1), (50, cfg.d_model))
    w_DE = jax.random.normal(jax.random.key(2), (cfg.d_model, 8))
    weights_UO, experts_UO, _ = route(x_UD, w_DE, cfg)
    groups = np.asarray(experts_UO) // 2               # 4 groups of 2 experts
    assert (groups[:, 0] == groups[:, 1]).all()        # one group allowed: both picks share it
    np.testing.assert_allclose(weights_UO.sum(-1), 1.0, rtol=1e-5)
    # a large bias on expert 5 makes every token choose it, but never changes the weights' source
    bias_E = jnp.zeros(8).at[5].set(10.0)
    _, biased_UO, scores_UE = route(x_UD, w_DE, cfg, bias_E)
    assert (np.asarray(biased_UO) == 5).any(-1).all()


# ----------------------------------------------------------------------------- RoPE
def test_rope_scores_depend_only_on_distance():
    cfg = ModelConfig(position="rope", n_heads=1, d_model=16)
    inv_freq, _ = rope_frequencies(cfg)
    q, k = jax.random.normal(jax.random.key(0), (2, 1, 1, 1, 16))

    def score(m, n):
        rot = lambda x, p: apply_rope(x, rope_table(jnp.array([[p]]), inv_freq))
        return float((rot(q, m) * rot(k, n)).sum())
    assert score(7, 3) == pytest.approx(score(104, 100), abs=1e-4)
    assert score(7, 3) != pytest.approx(score(7, 5), abs=1e-3)


def test_llama3_scaling_keeps_high_frequencies_and_divides_low_ones():
    base = ModelConfig(position="rope", d_model=128, n_heads=1, context_len=256)
    scaled = base.replace(rope_scaling="llama3", rope_factor=8.0, rope_original_context=64)
    f0, f1 = rope_frequencies(base)[0], rope_frequencies(scaled)[0]
    assert f1[0] == f0[0]                                  # fastest pair untouched
    assert f1[-1] == pytest.approx(f0[-1] / 8)              # slowest pair slowed 8x


# ----------------------------------------------------------------------------- variants
@pytest.mark.parametrize("changes", [dict(norm_placement="post"), dict(norm_placement="sandwich"),
                                     dict(position="sinusoidal"), dict(position="none"),
                                     dict(position="rope", norm="rmsnorm", mlp="geglu", qk_norm=True)])
def test_variants_run_and_cache_equals_recompute(changes):
    cfg = ModelConfig(vocab_size=30, context_len=32, n_layers=2, n_heads=4, d_model=32, **changes)
    model = init_model(cfg)
    prompt = list(range(1, 9))
    tokens, seen = cached_logits(model, prompt, 12)
    full = forward(model, jnp.asarray([prompt + np.asarray(tokens).tolist()]))
    np.testing.assert_allclose(seen, full[0, len(prompt) - 1:-1], atol=1e-4)


# ----------------------------------------------------------------------------- every family
@pytest.mark.parametrize("family", sorted(TINY_HF))
def test_family_trains_generates_and_backends_agree(family, shakespeare):
    cfg = tiny_config(family)
    result = train(cfg, shakespeare, progress=None)
    first, last = result.history["loss"][0], result.history["eval"][-1]["val_loss"]
    assert last < first - 1.0, (family, first, last)       # ~4.2 (uniform over 65) falls well
    model = result.model
    prompt = shakespeare.tokenizer.encode("ROMEO:\nWhat light")
    tokens, seen = cached_logits(model, prompt, 16)          # cache (latent cache for MLA) ...
    full = forward(model, jnp.asarray([prompt + np.asarray(tokens).tolist()]))   # ... equals recompute
    np.testing.assert_allclose(seen, full[0, len(prompt) - 1:-1], atol=1e-4)
    x = jnp.asarray([shakespeare.tokenizer.encode("To be, or not to be, that is the question:\n" * 2)[:64]])
    ref = init_model(cfg.model, runtime=Runtime(attention="naive"))
    want = forward(ref, x)
    for backend in ("xla", "blockwise", "pallas"):          # windows honoured by every backend
        other = init_model(cfg.model, runtime=Runtime(attention=backend))
        np.testing.assert_allclose(forward(other, x), want, atol=2e-4, err_msg=f"{family} {backend}")


def test_router_bias_moves_with_load(shakespeare):
    cfg = tiny_config("deepseek_v3", router_bias_rate=0.01, max_iters=20, eval_interval=20)
    model = train(cfg, shakespeare, progress=None).model
    biases = [np.asarray(b.mlp.bias_E[...]) for b in model.blocks
              if getattr(b.mlp, "bias_E", None) is not None]
    assert biases and all(np.abs(b).max() > 0 for b in biases)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("hf,field", [
    (dict(model_type="bert"), "model_type"),
    ({k: v for k, v in TINY_HF["llama"].items() if k != "hidden_size"}, "hidden_size"),
    (dict(TINY_HF["llama"], hidden_act="gelu"), "hidden_act"),
    (dict(TINY_HF["mistral"], num_key_value_heads=4), "n_kv_heads"),
    (dict(TINY_HF["llama"], rope_parameters=dict(rope_type="longrope", rope_theta=1e4)), "longrope"),
    (dict(TINY_HF["gemma3_text"], layer_types=["sliding_attention"] * 2), "layer_kinds"),
])
def test_bad_hf_configs_name_the_field(hf, field):
    with pytest.raises(HFConfigError, match=field):
        config_from_hf(hf)


def test_malformed_config_file_and_pickle_only_checkpoint(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(HFConfigError, match="not valid JSON"):
        config_from_hf(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(TINY_HF["llama"]))
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04 pickle bytes never opened")
    with pytest.raises(HFWeightsError, match="pickle"):
        load_hf(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"\x00\x01 truncated")
    with pytest.raises(HFWeightsError, match="cannot be read as safetensors"):
        load_hf(tmp_path)


def test_padding_rows_and_causal_mask_positions_for_rope():
    cfg = tiny_config("qwen3").model
    model = init_model(cfg)
    short, long = [5, 6, 7], [9, 10, 11, 12, 13, 14]
    from rawweights_jax.inference.generate import generate
    batched = generate(model, [short, long], 6, temperature=0)
    alone = [generate(model, [p], 6, temperature=0)[0] for p in (short, long)]
    assert batched == alone                 # left padding takes no position, rotates nothing
    assert causal_mask(1, 4).q_pos_BT.tolist() == [[0, 1, 2, 3]]


def test_local_layers_keep_only_their_window():
    from rawweights_jax.kvcache.cache import KVCache
    cfg = tiny_config("gemma3_text").model    # local, global, local with window 5
    cache = KVCache.empty(cfg, batch=2, slots=64)
    assert [k.shape[2] for k in cache.k] == [5, 64, 5]
    model = init_model(cfg)
    prompt = list(range(3, 30))               # prefill 27 tokens into 5-slot rings, then decode
    tokens, seen = cached_logits(model, prompt, 30)
    full = forward(model, jnp.asarray([prompt + np.asarray(tokens).tolist()]))
    np.testing.assert_allclose(seen, full[0, len(prompt) - 1:-1], atol=1e-4)


def test_learned_positions_refuse_longer_sequences():
    model = init_model(ModelConfig(vocab_size=20, context_len=8, n_layers=1, n_heads=2, d_model=16))
    with pytest.raises(ValueError, match="exceed the 8 learned positions"):
        model(jnp.zeros((1, 9), jnp.int32))
    assert model(jnp.zeros((1, 8), jnp.int32)).shape == (1, 8, 20)


def test_qwen3_moe_dense_layers_anywhere():
    """mlp_only_layers keeps named layers dense; decoder_sparse_step makes every k-th sparse;
    the analysis counts what the model then builds."""
    hf = dict(TINY_HF["qwen3_moe"], num_hidden_layers=6, decoder_sparse_step=2, mlp_only_layers=[3])
    cfg = config_from_hf(hf)
    assert cfg.mlp_layers == ("dense", "moe", "dense", "dense", "dense", "moe")
    from flax import nnx

    from rawweights_jax.analysis.counts import param_counts
    from rawweights_jax.model.gpt import count_params
    assert param_counts(cfg)["total"] == count_params(nnx.eval_shape(lambda: init_model(cfg)))
    with pytest.raises(HFConfigError, match="mlp_only_layers"):
        config_from_hf(dict(hf, mlp_only_layers=[9]))
