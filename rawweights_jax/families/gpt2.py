"""GPT-2 (OpenAI, 2019): learned positions, LayerNorm with biases, a GELU MLP, tied embeddings.

Its checkpoints name layers `h.{i}` (with or without a `transformer.` prefix) and store the
query/key/value projection as one [D, 3D] matrix already laid out [in, out] (`Conv1D`).
"""

from __future__ import annotations

from typing import Any

from rawweights_jax.config import ModelConfig
from rawweights_jax.families.base import Family, Reader
from rawweights_jax.families.weights import Rule, gpt2_qkv, same


def read(r: Reader) -> dict[str, Any]:
    r.expect("activation_function", ("gelu_new", "gelu_pytorch_tanh"), "gelu_new")
    r.expect("scale_attn_by_inverse_layer_idx", (False,), False)
    d_model = r.need("n_embd", "hidden_size")
    return dict(vocab_size=r.need("vocab_size"), context_len=r.need("n_positions"),
                n_layers=r.need("n_layer"), n_heads=r.need("n_head"), d_model=d_model,
                d_ff=r.get("n_inner", 4 * d_model), norm_eps=r.get("layer_norm_epsilon", 1e-5),
                bias=True, tie_embeddings=r.get("tie_word_embeddings", True),
                position="learned", norm="layernorm", mlp="gelu",
                init_std=float(r.get("initializer_range", 0.02)))


def write(cfg: ModelConfig, model_type: str) -> dict[str, Any]:
    return dict(model_type=model_type, vocab_size=cfg.vocab_size, n_positions=cfg.context_len,
                n_layer=cfg.n_layers, n_head=cfg.n_heads, n_embd=cfg.d_model, n_inner=cfg.d_ff,
                layer_norm_epsilon=cfg.norm_eps, activation_function="gelu_new",
                tie_word_embeddings=cfg.tie_embeddings, initializer_range=cfg.init_std)


def weights(cfg: ModelConfig, hf: dict) -> dict[str, Rule]:
    t = {"wte_VD": (("wte.weight",), same), "wpe_TD": (("wpe.weight",), same),
         "norm_out.scale_D": (("ln_f.weight",), same), "norm_out.bias_D": (("ln_f.bias",), same)}
    heads_out = lambda w: w.reshape(cfg.n_heads, cfg.head_dim, cfg.d_model)
    for i in range(cfg.n_layers):
        h, b = f"h.{i}.", f"blocks.{i}."
        t.update({
            b + "norm_attn.scale_D": ((h + "ln_1.weight",), same),
            b + "norm_attn.bias_D": ((h + "ln_1.bias",), same),
            b + "attn.wqkv_DKJH": ((h + "attn.c_attn.weight",), gpt2_qkv(cfg)),
            b + "attn.bqkv_KJH": ((h + "attn.c_attn.bias",), gpt2_qkv(cfg)),
            b + "attn.wo_NHD": ((h + "attn.c_proj.weight",), heads_out),
            b + "attn.bo_D": ((h + "attn.c_proj.bias",), same),
            b + "norm_mlp.scale_D": ((h + "ln_2.weight",), same),
            b + "norm_mlp.bias_D": ((h + "ln_2.bias",), same),
            b + "mlp.w_in_DF": ((h + "mlp.c_fc.weight",), same),
            b + "mlp.b_in_F": ((h + "mlp.c_fc.bias",), same),
            b + "mlp.w_out_FD": ((h + "mlp.c_proj.weight",), same),
            b + "mlp.b_out_D": ((h + "mlp.c_proj.bias",), same)})
    return t


FAMILY = Family(("gpt2",), read, write, weights, tiny={
    "gpt2": dict(model_type="gpt2", vocab_size=65, n_embd=48, n_layer=3, n_head=6, n_positions=128)})
