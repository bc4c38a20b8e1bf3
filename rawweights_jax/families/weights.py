"""How a checkpoint's tensors become our weights: the few reshapes, and the rules shared by the
families' weight tables.

A table maps each of our parameter names to the checkpoint tensors it is made of and how they
are reshaped (a `Rule`). The reshapes are few and always the same:

- torch's `nn.Linear` stores [out, in]; we store [in, out], so most matrices are transposed;
- our queries, keys and values are one grouped matrix [D, K, G + 2, H] (nn/attention/mha.py),
  built from q_proj, k_proj and v_proj (or GPT-2's c_attn, which is already [in, out]);
- heads are explicit axes: o_proj becomes [N, H, D]; MLA's kv_b_proj splits into [C, N, P]
  (keys) and [C, N, H] (values);
- routed experts, stored one tensor per expert, are stacked into [E, ...];
- DeepSeek's rotary dimensions come interleaved (x0, x1), (x2, x3), ...; permuting those rows
  once (evens, then odds) lets the same half-split RoPE serve every family (nn/rope.py).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from rawweights_jax.config import ModelConfig

Rule = tuple[tuple[str, ...], Callable]     # checkpoint names, and how to make our tensor


def T(w):                                   # [out, in] -> [in, out]
    return w.T


def same(w):
    return w


def heads_out(cfg: ModelConfig, width: int):
    """o_proj [D, N*H] -> [N, H, D]."""
    return lambda w: w.T.reshape(cfg.n_heads, width, cfg.d_model)


def grouped_qkv(cfg: ModelConfig, transpose: bool = True):
    """q [N*H, D], k [K*H, D], v [K*H, D] (or biases [N*H], ...) -> [(D,) K, G + 2, H]."""
    K, G, H = cfg.n_kv_heads, cfg.n_heads // cfg.n_kv_heads, cfg.head_dim

    def fuse(q, k, v):
        if q.ndim == 2 and transpose:
            q, k, v = q.T, k.T, v.T
        lead = q.shape[:-1]
        q = q.reshape(*lead, K, G, H)
        k, v = k.reshape(*lead, K, 1, H), v.reshape(*lead, K, 1, H)
        return np.concatenate([q, k, v], axis=-2)
    return fuse


def gpt2_qkv(cfg: ModelConfig):
    """GPT-2's c_attn, [D, 3D] (or [3D]) as q | k | v along the last axis -> grouped."""
    fuse = grouped_qkv(cfg, transpose=False)
    return lambda w: fuse(*np.split(w, 3, axis=-1))


def stacked(n: int, reshape=T):
    return lambda *ws: np.stack([reshape(w) for w in ws[:n]])


def deinterleave(R: int) -> np.ndarray:
    """Index order that turns interleaved rotary pairs (0,1),(2,3).. into halves (0,2,..|1,3,..)."""
    return np.concatenate([np.arange(0, R, 2), np.arange(1, R, 2)])


def mla_rows(cfg: ModelConfig, interleaved: bool):
    """q_b_proj / q_proj [N*(P+R), in] -> [in, N, P+R], rotary part de-interleaved."""
    P, R = cfg.head_dim, cfg.qk_rope_dim
    order = np.concatenate([np.arange(P), P + deinterleave(R)]) if interleaved else np.arange(P + R)
    return lambda w: w.T.reshape(w.shape[1], cfg.n_heads, P + R)[..., order]


def mla_latent(cfg: ModelConfig, interleaved: bool):
    """kv_a_proj_with_mqa [C+R, D] -> [D, C+R], rotary key de-interleaved."""
    C, R = cfg.kv_lora_rank, cfg.qk_rope_dim
    order = np.concatenate([np.arange(C), C + deinterleave(R)]) if interleaved else np.arange(C + R)
    return lambda w: w.T[:, order]


def mla_kv_b(cfg: ModelConfig, part: str):
    """kv_b_proj [N*(P+H), C] -> keys [C, N, P] or values [C, N, H]."""
    N, P, H = cfg.n_heads, cfg.head_dim, cfg.v_head_dim

    def split(w):
        w = w.reshape(N, P + H, -1)
        return (w[:, :P] if part == "k" else w[:, P:]).transpose(2, 0, 1)
    return split




# ----------------------------------------------------------------------------- shared rules
def attention_rules(cfg: ModelConfig, a: str, dst: str) -> dict[str, Rule]:
    """q/k/v/o projections (biases and QK-norm when the model has them) of one layer."""
    qkv = tuple(a + f"{x}_proj.weight" for x in "qkv")
    t = {dst + "wqkv_DKJH": (qkv, grouped_qkv(cfg)),
         dst + "wo_NHD": ((a + "o_proj.weight",), heads_out(cfg, cfg.head_dim))}
    if cfg.qkv_bias:
        t[dst + "bqkv_KJH"] = (tuple(a + f"{x}_proj.bias" for x in "qkv"), grouped_qkv(cfg))
    if cfg.qk_norm:
        t[dst + "q_norm.scale_D"] = ((a + "q_norm.weight",), same)
        t[dst + "k_norm.scale_D"] = ((a + "k_norm.weight",), same)
    return t


def mlp_rules(src: str, dst: str) -> dict[str, Rule]:
    return {dst + "w_in_DF": ((src + "gate_proj.weight",), T),
            dst + "w_up_DF": ((src + "up_proj.weight",), T),
            dst + "w_out_FD": ((src + "down_proj.weight",), T)}


def moe_rules(cfg: ModelConfig, src: str, names: tuple[str, str, str], dst: str) -> dict[str, Rule]:
    """Router, stacked experts (gate, up, down named `names`), choice bias, shared experts."""
    E = cfg.n_experts
    experts = lambda n: tuple(f"{src}experts.{e}.{n}.weight" for e in range(E))
    t = {dst + "w_router_DE": ((src + "gate.weight",), T),
         dst + "w_in_EDF": (experts(names[0]), stacked(E)),
         dst + "w_up_EDF": (experts(names[1]), stacked(E)),
         dst + "w_out_EFD": (experts(names[2]), stacked(E))}
    if cfg.router_bias:
        t[dst + "bias_E"] = ((src + "gate.e_score_correction_bias",), same)
    if cfg.n_shared_experts:
        t.update(mlp_rules(src + "shared_experts.", dst + "shared."))
    return t


def mla_rules(cfg: ModelConfig, hf: dict, a: str, dst: str) -> dict[str, Rule]:
    """Multi-head latent attention's projections, rotary rows de-interleaved if stored so."""
    inter = bool(hf.get("rope_interleave", True))
    t = {dst + "wkv_a_DX": ((a + "kv_a_proj_with_mqa.weight",), mla_latent(cfg, inter)),
         dst + "kv_norm.scale_D": ((a + "kv_a_layernorm.weight",), same),
         dst + "wk_b_CNP": ((a + "kv_b_proj.weight",), mla_kv_b(cfg, "k")),
         dst + "wv_b_CNH": ((a + "kv_b_proj.weight",), mla_kv_b(cfg, "v")),
         dst + "wo_NHD": ((a + "o_proj.weight",), heads_out(cfg, cfg.v_head_dim))}
    if cfg.q_lora_rank:
        t.update({dst + "wq_a_DQ": ((a + "q_a_proj.weight",), T),
                  dst + "q_norm.scale_D": ((a + "q_a_layernorm.weight",), same),
                  dst + "wq_b_QNI": ((a + "q_b_proj.weight",), mla_rows(cfg, inter))})
    else:
        t[dst + "wq_DNI"] = ((a + "q_proj.weight",), mla_rows(cfg, inter))
    return t




def decoder_table(cfg: ModelConfig, layer: Callable[[int, str, str], dict[str, Rule]],
                  norms: dict[str, str] | None = None) -> dict[str, Rule]:
    """The whole table of a Llama-style checkpoint: embeddings, final norm, head, and per layer
    `layer(i, hf_prefix, our_prefix)` plus the norms (ours -> theirs; default pre-norm pair)."""
    norms = norms or {"norm_attn": "input_layernorm", "norm_mlp": "post_attention_layernorm"}
    t = {"wte_VD": (("model.embed_tokens.weight",), same),
         "norm_out.scale_D": (("model.norm.weight",), same),
         "lm_head_DV": (("lm_head.weight",), T)}
    for i in range(cfg.n_layers):
        h, b = f"model.layers.{i}.", f"blocks.{i}."
        t.update({b + f"{ours}.scale_D": ((h + f"{theirs}.weight",), same) for ours, theirs in norms.items()})
        t.update(layer(i, h, b))
    return t


def dense_mlp_layer(cfg: ModelConfig) -> Callable[[int, str, str], dict[str, Rule]]:
    """The layer rules of a dense model: attention and a gated MLP."""
    return lambda i, h, b: {**attention_rules(cfg, h + "self_attn.", b + "attn."),
                            **mlp_rules(h + "mlp.", b + "mlp.")}
