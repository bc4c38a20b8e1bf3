"""What every family's reader and writer shares: reading config.json, naming a bad field, the
Llama-style decoder fields most families start from, rotary-position parameters, layer types.

A family module (gpt2.py, llama.py, ...) reads its `config.json` into ModelConfig fields with a
`Reader`, whose every error names the family and the field; a field the family needs but the
file lacks, a value we do not implement, or an inconsistent value raises `HFConfigError`.
Both rope layouts are read: `rope_parameters` (transformers 5) and `rope_theta` +
`rope_scaling` (what most published checkpoints still have).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from rawweights_jax.config import ModelConfig
from rawweights_jax.nn.rope import yarn_mscale


class HFConfigError(ValueError):
    """A Hugging Face config that cannot be read: names the field and what was expected."""


@dataclass(frozen=True)
class Family:
    """One family of Hugging Face models: everything the library knows about it, in one module.

    `read(reader)` turns its config.json into ModelConfig fields; `write(cfg, model_type)` is
    the inverse; `weights(cfg, hf)` is the table from our weight names to its tensors
    (weights.py); `tiny` holds, per model type, a tiny config with every structural feature on
    (the parity tests build it in transformers too). `ignored` names the config.json fields it
    reads no meaning from (training-only or runtime settings), for the record.
    """

    model_types: tuple[str, ...]
    read: Callable[["Reader"], dict[str, Any]]
    write: Callable[[ModelConfig, str], dict[str, Any]]
    weights: Callable[[ModelConfig, dict], dict]
    tiny: dict[str, dict[str, Any]]
    ignored: tuple[str, ...] = ("torch_dtype", "dtype", "use_cache", "attention_dropout",
                                "bos_token_id", "eos_token_id", "pad_token_id", "architectures",
                                "transformers_version")


TINY_BASE = dict(vocab_size=65, hidden_size=48, num_hidden_layers=3, num_attention_heads=6,
                 num_key_value_heads=2, intermediate_size=64, max_position_embeddings=128,
                 tie_word_embeddings=False)
"""What the tiny configs share: the 65 characters of tiny Shakespeare, three layers of width 48."""


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


class Reader:
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


# --8<-- [start:decoder]
def decoder_fields(r: Reader, tie_default: bool = False) -> dict[str, Any]:
    """Llama and its descendants: RMSNorm, RoPE, a SwiGLU MLP, no biases. Families add theirs."""
    n_heads = r.need("num_attention_heads")
    r.expect("hidden_act", ("silu",), "silu")
    if r.get("mlp_bias"):
        r.expect("mlp_bias", (False,))
    return dict(vocab_size=r.need("vocab_size"), context_len=r.need("max_position_embeddings"),
                n_layers=r.need("num_hidden_layers"), n_heads=n_heads, d_model=r.need("hidden_size"),
                n_kv_heads=r.get("num_key_value_heads", n_heads), head_dim=r.get("head_dim"),
                d_ff=r.need("intermediate_size"), norm="rmsnorm", norm_eps=r.get("rms_norm_eps", 1e-6),
                position="rope", mlp="swiglu", tie_embeddings=r.get("tie_word_embeddings", tie_default),
                init_std=float(r.get("initializer_range", 0.02)))
# --8<-- [end:decoder]


def layer_types(r: Reader, kinds, window) -> dict[str, Any]:
    """layer_kinds and sliding_window from HF layer types ('sliding_attention' / 'full_attention')."""
    if kinds is None:
        return {}
    names = {"sliding_attention": "local", "full_attention": "global"}
    if not isinstance(kinds, list) or any(k not in names for k in kinds):
        raise HFConfigError(f"{r.family} config: layer_types={kinds!r} is not a list of "
                            "'sliding_attention' / 'full_attention'")
    local = [names[k] for k in kinds]
    return {"layer_kinds": tuple(local), "sliding_window": window if "local" in local else None}


def read_rope(r: Reader, f: dict[str, Any], params: dict | None = None) -> dict[str, Any]:
    """RoPE base, partial rotation and context scaling ('linear', 'llama3', 'yarn')."""
    if params is None:
        params = r.get("rope_parameters")
    if params is None:
        params = {"rope_theta": r.get("rope_theta", 10000.0), **(r.get("rope_scaling") or {})}
    kind = params.get("rope_type", params.get("type", "default"))
    out: dict[str, Any] = {"rope_theta": float(params.get("rope_theta", r.get("rope_theta", 10000.0)))}
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


def yarn_attention_scale(rope: dict[str, Any], scale: float) -> float:
    """DeepSeek's softmax scale under YaRN: multiplied by mscale(factor, mscale_all_dim)^2."""
    if rope.get("rope_scaling", "none") != "none" and rope.get("yarn_mscale_all_dim"):
        scale *= yarn_mscale(rope["rope_factor"], rope["yarn_mscale_all_dim"]) ** 2
    return scale


# ----------------------------------------------------------------------------- writing
def write_rope(cfg: ModelConfig) -> dict[str, Any]:
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
    return rope


def decoder_hf(cfg: ModelConfig, model_type: str) -> dict[str, Any]:
    """The Llama-style fields of a config.json; families add and change theirs."""
    hf = dict(model_type=model_type, vocab_size=cfg.vocab_size, max_position_embeddings=cfg.context_len,
              num_hidden_layers=cfg.n_layers, num_attention_heads=cfg.n_heads, hidden_size=cfg.d_model,
              num_key_value_heads=cfg.n_kv_heads, head_dim=cfg.head_dim, intermediate_size=cfg.d_ff,
              rms_norm_eps=cfg.norm_eps, tie_word_embeddings=cfg.tie_embeddings,
              initializer_range=cfg.init_std, hidden_act="silu", attention_bias=False,
              rope_parameters=write_rope(cfg))
    if cfg.sliding_window:
        hf.update(sliding_window=cfg.sliding_window, layer_types=hf_layer_types(cfg),
                  use_sliding_window=True, max_window_layers=0)
    return hf


def hf_layer_types(cfg: ModelConfig) -> list[str]:
    return ["sliding_attention" if k == "local" else "full_attention" for k in cfg.layer_kinds]
