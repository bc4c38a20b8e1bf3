"""model/trace.py: the traced pass is the model's pass, and its attention weights are the ones
the model used (weights x values, projected out, give the layer's own attention output)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from _lib_support import tiny_model
from rawweights_jax.config import ModelConfig
from rawweights_jax.model.gpt import init_model
from rawweights_jax.model.trace import attention_weights, trace
from rawweights_jax.nn.attention.mask import causal_mask
from rawweights_jax.nn.dense import dense

CONFIGS = {
    "gpt2": tiny_model(bias=True),
    "post-norm": tiny_model(norm_placement="post"),
    "modern": tiny_model(position="rope", norm="rmsnorm", mlp="swiglu", n_kv_heads=2, qk_norm=True,
                         norm_placement="sandwich", attn_scale=0.3, sliding_window=5,
                         layer_kinds=("local", "global")),
}


@pytest.fixture(scope="module", params=list(CONFIGS))
def traced(request):
    cfg: ModelConfig = CONFIGS[request.param]
    model = init_model(cfg, seed=3)
    tokens_BT = jax.random.randint(jax.random.key(0), (2, cfg.context_len), 0, cfg.vocab_size)
    return cfg, model, tokens_BT, trace(model, tokens_BT)


def test_the_traced_pass_is_the_models_pass(traced):
    cfg, model, tokens_BT, t = traced
    np.testing.assert_allclose(t.logits_BTV, model(tokens_BT), atol=1e-5)
    L, (B, T), D = cfg.n_layers, tokens_BT.shape, cfg.d_model
    assert t.stream().shape == (2 * L + 1, B, T, D)
    np.testing.assert_array_equal(t.stream()[-1], t.after_mlp_LBTD[-1])
    np.testing.assert_array_equal(t.stream()[1], t.after_attn_LBTD[0])


def test_weights_are_causal_distributions(traced):
    cfg, _, tokens_BT, t = traced
    T = tokens_BT.shape[1]
    assert t.probs_LBNTS.shape == (cfg.n_layers, 2, cfg.n_heads, T, T)
    np.testing.assert_allclose(t.probs_LBNTS.sum(-1), 1.0, atol=1e-5)
    future_TS = np.triu(np.ones((T, T), bool), k=1)
    assert np.all(np.asarray(t.probs_LBNTS)[..., future_TS] == 0)
    for i, kind in enumerate(cfg.layer_kinds):   # a local layer sees only its window
        if kind == "local":
            far_TS = np.tril(np.ones((T, T), bool), k=-cfg.sliding_window)
            assert np.all(np.asarray(t.probs_LBNTS[i])[..., far_TS] == 0)


def test_weights_times_values_give_the_layers_output(traced):
    cfg, model, tokens_BT, t = traced
    B, T = tokens_BT.shape
    mask = causal_mask(B, T)
    for i, block in enumerate(model.blocks):
        attn = block.attn
        h_BTD = jax.random.normal(jax.random.key(i), (B, T, cfg.d_model))
        layer_mask = mask if block.window is None else causal_mask(B, T, block.window)
        rope = model.rope(mask.q_pos_BT, block.local)
        out_BTD, _ = attn(h_BTD, layer_mask, rope)
        probs_BNTS = attention_weights(attn, h_BTD, layer_mask, rope)
        qkv_BTKJH = dense(h_BTD, attn.wqkv_DKJH[...])
        if attn.bqkv_KJH is not None:
            qkv_BTKJH = qkv_BTKJH + attn.bqkv_KJH[...]
        G = qkv_BTKJH.shape[3] - 2
        v_BSNH = jnp.repeat(qkv_BTKJH[:, :, :, -1], G, axis=2)
        mixed_BTNH = jnp.einsum("bnts,bsnh->btnh", probs_BNTS, v_BSNH)
        again_BTD = dense(mixed_BTNH, attn.wo_NHD[...], contract=2)
        if attn.bo_D is not None:
            again_BTD = again_BTD + attn.bo_D[...]
        np.testing.assert_allclose(again_BTD, out_BTD, atol=1e-5)


def test_trace_compiles_whole():
    cfg = CONFIGS["modern"]
    model = init_model(cfg)
    tokens_BT = jnp.arange(12, dtype=jnp.int32)[None] % cfg.vocab_size
    np.testing.assert_allclose(nnx.jit(trace)(model, tokens_BT).logits_BTV, model(tokens_BT), atol=1e-5)


def test_latent_attention_is_refused_with_a_clear_error():
    model = init_model(tiny_model(kv_lora_rank=8, qk_rope_dim=4, position="rope"))
    with pytest.raises(TypeError, match="a layer uses LatentAttention"):
        trace(model, jnp.zeros((1, 4), jnp.int32))
