"""Reading a Hugging Face `config.json` into our Config, and writing one back.

Each family names the same ideas differently (`n_embd`, `hidden_size`; `num_local_experts`,
`num_experts`, `n_routed_experts`) and fills some in by convention (Gemma 3's one global layer
in six). `config_from_hf` reads every family listed in `FAMILIES` into the one Config; a field
the family needs but the file lacks, a value we do not implement, or an inconsistent value
raises `HFConfigError` naming the field. `config_to_hf` writes the family's own field names, so
`transformers` can build the same model (the parity tests do exactly that).

Both the current layout (`rope_parameters`, transformers 5) and the older one (`rope_theta` +
`rope_scaling`, as most published checkpoints still have it) are read.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rawweights_jax.config import Config
from rawweights_jax.nn.rope import yarn_mscale

LLAMA_LIKE = ("llama", "mistral", "mixtral", "qwen2", "qwen3", "qwen3_moe")
FAMILIES = ("gpt2", *LLAMA_LIKE, "gemma3_text", "deepseek_v3", "kimi_k2")


class HFConfigError(ValueError):
    """A Hugging Face config that cannot be read: names the field and what was expected."""


def read_hf_config(source: dict | str | Path) -> dict[str, Any]:
    """The config as a dict, from a dict, a config.json path, or a directory holding one."""
    if isinstance(source, dict):
        return source
    path = Path(source)
    if path.is_dir():
        path = path / "config.json"
    try:
        hf = json.loads(path.read_text())
    except FileNotFoundError:
        raise HFConfigError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise HFConfigError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(hf, dict):
        raise HFConfigError(f"{path}: expected a JSON object, got {type(hf).__name__}")
    if hf.get("model_type") == "gemma3" and isinstance(hf.get("text_config"), dict):
        hf = {"model_type": "gemma3_text", **hf["text_config"]}   # the text half of Gemma 3
    return hf


class _Reader:
    """Field access that names the family and the field in every error."""

    def __init__(self, hf: dict[str, Any]):
        self.hf, self.family = hf, hf.get("model_type")

    def need(self, *names: str):
        for name in names:
            if self.hf.get(name) is not None:
                return self.hf[name]
        raise HFConfigError(f"{self.family} config: missing field {' / '.join(map(repr, names))}")

    def get(self, name: str, default=None):
        value = self.hf.get(name)
        return default if value is None else value

    def expect(self, name: str, allowed, default=None) -> None:
        value = self.get(name, default)
        if value not in allowed:
            raise HFConfigError(f"{self.family} config: {name}={value!r} is not supported "
                                f"(expected {' or '.join(map(repr, allowed))})")


def config_from_hf(source: dict | str | Path, **overrides: Any) -> Config:
    """Our Config for a Hugging Face config (dict, file or directory); `overrides` win."""
    hf = read_hf_config(source)
    r = _Reader(hf)
    if r.family is None:
        raise HFConfigError("config has no 'model_type' field: is it a Hugging Face config.json?")
    if r.family not in FAMILIES:
        raise HFConfigError(f"model_type={r.family!r} is not supported: expected one of "
                            + ", ".join(FAMILIES))
    fields = _gpt2(r) if r.family == "gpt2" else _decoder(r)
    fields["init_std"] = float(r.get("initializer_range", 0.02))
    fields.update(overrides)
    try:
        return Config(**fields)
    except ValueError as err:       # inconsistent values: say it came from this file
        raise HFConfigError(f"{r.family} config is inconsistent: {err}") from None


def _gpt2(r: _Reader) -> dict[str, Any]:
    r.expect("activation_function", ("gelu_new", "gelu_pytorch_tanh"), "gelu_new")
    r.expect("scale_attn_by_inverse_layer_idx", (False,), False)
    d_model = r.need("n_embd", "hidden_size")
    return dict(vocab_size=r.need("vocab_size"), context_len=r.need("n_positions"),
                n_layers=r.need("n_layer"), n_heads=r.need("n_head"), d_model=d_model,
                d_ff=r.get("n_inner", 4 * d_model), norm_eps=r.get("layer_norm_epsilon", 1e-5),
                bias=True, tie_embeddings=r.get("tie_word_embeddings", True),
                position="learned", norm="layernorm", mlp="gelu")


# --8<-- [start:decoder]
def _decoder(r: _Reader) -> dict[str, Any]:
    """Llama and its descendants: RMSNorm, RoPE, gated MLP, and each family's additions."""
    fam = "deepseek_v3" if r.family == "kimi_k2" else r.family
    n_heads, d_model = r.need("num_attention_heads"), r.need("hidden_size")
    f = dict(vocab_size=r.need("vocab_size"), context_len=r.need("max_position_embeddings"),
             n_layers=r.need("num_hidden_layers"), n_heads=n_heads, d_model=d_model,
             n_kv_heads=r.get("num_key_value_heads", n_heads),
             head_dim=r.get("head_dim"), d_ff=r.need("intermediate_size"),
             norm="rmsnorm", norm_eps=r.get("rms_norm_eps", 1e-6), position="rope",
             tie_embeddings=r.get("tie_word_embeddings", fam == "gemma3_text"))
    if fam == "gemma3_text":
        r.expect("hidden_activation", ("gelu_pytorch_tanh",), "gelu_pytorch_tanh")
        r.expect("final_logit_softcapping", (None,))
        r.expect("attn_logit_softcapping", (None,))
        r.expect("use_bidirectional_attention", (False,), False)
        f.update(mlp="geglu", norm_zero_centered=True, norm_placement="sandwich", qk_norm=True,
                 embed_scale=True, attn_scale=r.get("query_pre_attn_scalar", 256) ** -0.5)
    else:
        r.expect("hidden_act", ("silu",), "silu")
        f["mlp"] = "swiglu"
    if fam in ("llama", "mistral", "mixtral", "qwen3", "qwen3_moe", "gemma3_text", "deepseek_v3"):
        r.expect("attention_bias", (False,), False)
    if r.get("mlp_bias"):
        r.expect("mlp_bias", (False,))
    f["qkv_bias"] = fam == "qwen2"            # Qwen2 always has biases on q, k and v
    f["qk_norm"] = f.get("qk_norm", False) or fam in ("qwen3", "qwen3_moe")
    f.update(_layer_kinds(r, fam, f["n_layers"]))
    f.update(_rope(r, fam, f))
    if fam in ("mixtral", "qwen3_moe"):
        f.update(n_experts=r.need("num_local_experts", "num_experts"),
                 experts_per_token=r.need("num_experts_per_tok"),
                 router_norm_topk=fam == "mixtral" or bool(r.get("norm_topk_prob", False)),
                 aux_loss_coef=float(r.get("router_aux_loss_coef", 0.0)))
        if fam == "qwen3_moe":
            r.expect("decoder_sparse_step", (1,), 1)
            r.expect("mlp_only_layers", ([],), [])
            f["d_expert"] = r.need("moe_intermediate_size")
    if fam == "deepseek_v3":
        f.update(_deepseek(r, f))
    return f
# --8<-- [end:decoder]


def _layer_kinds(r: _Reader, fam: str, n_layers: int) -> dict[str, Any]:
    window = r.get("sliding_window")
    if fam in ("qwen2", "qwen3", "qwen3_moe") and not r.get("use_sliding_window", False):
        window = None
    kinds = r.get("layer_types")
    if kinds is None and window is not None:
        if fam == "gemma3_text":
            pattern = r.get("sliding_window_pattern", r.get("_sliding_window_pattern", 6))
            kinds = ["sliding_attention" if (i + 1) % pattern else "full_attention"
                     for i in range(n_layers)]
        elif fam in ("qwen2", "qwen3", "qwen3_moe"):
            first = r.get("max_window_layers", n_layers)
            kinds = ["sliding_attention" if i >= first else "full_attention" for i in range(n_layers)]
        else:
            kinds = ["sliding_attention"] * n_layers
    if kinds is None:
        return {}
    names = {"sliding_attention": "local", "full_attention": "global"}
    if not isinstance(kinds, list) or any(k not in names for k in kinds):
        raise HFConfigError(f"{r.family} config: layer_types={kinds!r} is not a list of "
                            "'sliding_attention' / 'full_attention'")
    local = [names[k] for k in kinds]
    return {"layer_kinds": tuple(local), "sliding_window": window if "local" in local else None}


def _rope(r: _Reader, fam: str, f: dict[str, Any]) -> dict[str, Any]:
    params = r.get("rope_parameters")
    local_theta = None
    if fam == "gemma3_text":
        if isinstance(params, dict) and "full_attention" in params:
            local_theta = params.get("sliding_attention", {}).get("rope_theta", 10000.0)
            params = params["full_attention"]
        else:
            local_theta = r.get("rope_local_base_freq", 10000.0)
            params = {"rope_theta": r.get("rope_theta", 1_000_000.0), **(r.get("rope_scaling") or {})}
    elif params is None:
        params = {"rope_theta": r.get("rope_theta", 10000.0), **(r.get("rope_scaling") or {})}
    kind = params.get("rope_type", params.get("type", "default"))
    out: dict[str, Any] = {"rope_theta": float(params.get("rope_theta", r.get("rope_theta", 10000.0))),
                           "rope_local_theta": local_theta}
    partial = params.get("partial_rotary_factor", r.get("partial_rotary_factor", 1.0))
    if partial != 1.0:
        out["rope_dim"] = int((f["head_dim"] or f["d_model"] // f["n_heads"]) * partial)
    if kind == "default":
        return out
    if kind not in ("linear", "llama3", "yarn"):
        raise HFConfigError(f"{r.family} config: rope type {kind!r} is not supported "
                            "(expected default, linear, llama3 or yarn)")
    factor = params.get("factor")
    original = params.get("original_max_position_embeddings")
    if factor is None and kind == "yarn" and original:
        factor = f["context_len"] / original
    if factor is None:
        raise HFConfigError(f"{r.family} config: rope scaling {kind!r} needs 'factor'")
    out.update(rope_scaling=kind, rope_factor=float(factor))
    if kind in ("llama3", "yarn"):
        out["rope_original_context"] = int(original or f["context_len"])
    if kind == "llama3":
        out.update(rope_low_freq_factor=float(params.get("low_freq_factor", 1.0)),
                   rope_high_freq_factor=float(params.get("high_freq_factor", 4.0)))
    if kind == "yarn":
        if params.get("attention_factor") is not None or params.get("truncate", True) is not True:
            raise HFConfigError(f"{r.family} config: yarn 'attention_factor'/'truncate' "
                                "overrides are not supported")
        out.update(yarn_beta_fast=float(params.get("beta_fast") or 32),
                   yarn_beta_slow=float(params.get("beta_slow") or 1),
                   yarn_mscale=float(params.get("mscale") or 0.0),
                   yarn_mscale_all_dim=float(params.get("mscale_all_dim") or 0.0))
    return out


def _deepseek(r: _Reader, f: dict[str, Any]) -> dict[str, Any]:
    r.expect("scoring_func", ("sigmoid",), "sigmoid")
    r.expect("topk_method", ("noaux_tc",), "noaux_tc")
    nope, rope_dim = r.need("qk_nope_head_dim"), r.need("qk_rope_head_dim")
    out = dict(kv_lora_rank=r.need("kv_lora_rank"), q_lora_rank=r.get("q_lora_rank"),
               head_dim=nope, qk_rope_dim=rope_dim, v_head_dim=r.need("v_head_dim"),
               n_kv_heads=f["n_heads"], rope_dim=None,
               n_experts=r.need("n_routed_experts", "num_local_experts"),
               experts_per_token=r.need("num_experts_per_tok"),
               d_expert=r.need("moe_intermediate_size"),
               n_shared_experts=r.get("n_shared_experts", 0),
               dense_layers=r.get("first_k_dense_replace", 0), router_score="sigmoid",
               router_norm_topk=bool(r.get("norm_topk_prob", False)),
               router_scale=float(r.get("routed_scaling_factor", 1.0)),
               router_groups=r.get("n_group", 1), router_groups_per_token=r.get("topk_group", 1),
               router_bias=True, aux_loss_coef=float(r.get("aux_loss_alpha", 0.0)))
    scale = (nope + rope_dim) ** -0.5
    rope = _rope(r, "deepseek_v3", {**f, "head_dim": rope_dim})
    if rope.get("rope_scaling", "none") != "none" and rope.get("yarn_mscale_all_dim"):
        scale *= yarn_mscale(rope["rope_factor"], rope["yarn_mscale_all_dim"]) ** 2
    out["attn_scale"] = scale
    return out


# ----------------------------------------------------------------------------- writing back
def hf_family(cfg: Config) -> str:
    """The Hugging Face model_type whose architecture a Config describes."""
    if cfg.position == "learned":
        return "gpt2"
    if cfg.mla:
        return "deepseek_v3"
    if cfg.norm_zero_centered:
        return "gemma3_text"
    if cfg.n_experts:
        return "qwen3_moe" if cfg.qk_norm else "mixtral"
    if cfg.qk_norm:
        return "qwen3"
    if cfg.qkv_bias:
        return "qwen2"
    return "mistral" if cfg.sliding_window else "llama"


def config_to_hf(cfg: Config) -> dict[str, Any]:
    """A Hugging Face config dict for the family of `cfg` (see `hf_family`)."""
    fam = hf_family(cfg)
    if fam == "gpt2":
        return dict(model_type="gpt2", vocab_size=cfg.vocab_size, n_positions=cfg.context_len,
                    n_layer=cfg.n_layers, n_head=cfg.n_heads, n_embd=cfg.d_model, n_inner=cfg.d_ff,
                    layer_norm_epsilon=cfg.norm_eps, activation_function="gelu_new",
                    tie_word_embeddings=cfg.tie_embeddings, initializer_range=cfg.init_std)
    hf: dict[str, Any] = dict(
        model_type=fam, vocab_size=cfg.vocab_size, max_position_embeddings=cfg.context_len,
        num_hidden_layers=cfg.n_layers, num_attention_heads=cfg.n_heads, hidden_size=cfg.d_model,
        num_key_value_heads=cfg.n_kv_heads, head_dim=cfg.head_dim, intermediate_size=cfg.d_ff,
        rms_norm_eps=cfg.norm_eps, tie_word_embeddings=cfg.tie_embeddings,
        initializer_range=cfg.init_std, hidden_act="silu", attention_bias=False)
    rope = {"rope_type": "default" if cfg.rope_scaling == "none" else cfg.rope_scaling,
            "rope_theta": cfg.rope_theta}
    if cfg.rope_scaling != "none":
        rope.update(factor=cfg.rope_factor, original_max_position_embeddings=cfg.rope_original_context)
    if cfg.rope_scaling == "llama3":
        rope.update(low_freq_factor=cfg.rope_low_freq_factor, high_freq_factor=cfg.rope_high_freq_factor)
    if cfg.rope_scaling == "yarn":
        rope.update(beta_fast=cfg.yarn_beta_fast, beta_slow=cfg.yarn_beta_slow,
                    mscale=cfg.yarn_mscale, mscale_all_dim=cfg.yarn_mscale_all_dim)
    if cfg.rope_dim != (cfg.qk_rope_dim if cfg.mla else cfg.head_dim):
        rope["partial_rotary_factor"] = cfg.rope_dim / cfg.head_dim
    hf["rope_parameters"] = rope
    kinds = ["sliding_attention" if k == "local" else "full_attention" for k in cfg.layer_kinds]
    if cfg.sliding_window:
        hf.update(sliding_window=cfg.sliding_window, layer_types=kinds, use_sliding_window=True,
                  max_window_layers=0)
    if fam in ("mixtral", "qwen3_moe"):
        hf.update(num_local_experts=cfg.n_experts, num_experts=cfg.n_experts,
                  num_experts_per_tok=cfg.experts_per_token, router_aux_loss_coef=cfg.aux_loss_coef,
                  norm_topk_prob=cfg.router_norm_topk)
        if fam == "mixtral":
            hf["intermediate_size"] = cfg.d_expert
        else:
            hf.update(moe_intermediate_size=cfg.d_expert, decoder_sparse_step=1, mlp_only_layers=[])
    if fam == "gemma3_text":
        hf.pop("hidden_act")
        hf.update(hidden_activation="gelu_pytorch_tanh", query_pre_attn_scalar=_pre_attn(cfg),
                  rope_parameters={"full_attention": rope, "sliding_attention": {
                      "rope_type": "default", "rope_theta": cfg.rope_local_theta or cfg.rope_theta}},
                  layer_types=kinds, sliding_window=cfg.sliding_window or cfg.context_len)
    if fam == "deepseek_v3":
        hf.update(kv_lora_rank=cfg.kv_lora_rank, q_lora_rank=cfg.q_lora_rank,
                  qk_nope_head_dim=cfg.head_dim, qk_rope_head_dim=cfg.qk_rope_dim,
                  v_head_dim=cfg.v_head_dim, n_routed_experts=cfg.n_experts,
                  num_experts_per_tok=cfg.experts_per_token, moe_intermediate_size=cfg.d_expert,
                  n_shared_experts=cfg.n_shared_experts, first_k_dense_replace=cfg.dense_layers,
                  n_group=cfg.router_groups, topk_group=cfg.router_groups_per_token,
                  routed_scaling_factor=cfg.router_scale, norm_topk_prob=cfg.router_norm_topk,
                  rope_interleave=True, num_key_value_heads=cfg.n_heads, head_dim=cfg.qk_rope_dim)
    return hf


def _pre_attn(cfg: Config) -> float:
    """Gemma's query_pre_attn_scalar: the number whose inverse square root is the softmax scale."""
    scalar = (cfg.attn_scale or cfg.head_dim ** -0.5) ** -2
    return int(round(scalar)) if math.isclose(scalar, round(scalar)) else scalar
