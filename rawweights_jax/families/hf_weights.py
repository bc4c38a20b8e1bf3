"""Loading Hugging Face checkpoints: `load_hf(path)` reads config.json and *.safetensors.

Each family's names live in one table (`TABLES`): for every parameter of ours, the checkpoint
tensors it is made of and how they are reshaped. The reshapes are few and always the same:

- torch's `nn.Linear` stores [out, in]; we store [in, out], so most matrices are transposed;
- our queries, keys and values are one grouped matrix [D, K, G + 2, H] (nn/attention/mha.py), built from
  q_proj, k_proj and v_proj (or GPT-2's c_attn, which is already [in, out]);
- heads are explicit axes: o_proj becomes [N, H, D]; MLA's kv_b_proj splits into [C, N, P]
  (keys) and [C, N, H] (values);
- routed experts, stored one tensor per expert, are stacked into [E, ...];
- DeepSeek's rotary dimensions come interleaved (x0, x1), (x2, x3), ...; permuting those rows
  once (evens, then odds) lets the same half-split RoPE serve every family (nn/rope.py).

Only safetensors are read: a pickle-based `pytorch_model.bin` is refused, never opened. Tensors
that are missing, left over, or of the wrong shape are all listed in one `HFWeightsError`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from safetensors import safe_open

from rawweights_jax.config import Config
from rawweights_jax.core.names import weight_name
from rawweights_jax.families.hf_config import config_from_hf, read_hf_config
from rawweights_jax.model.gpt import GPT, init_model

Rule = tuple[tuple[str, ...], Callable]     # checkpoint names, and how to make our tensor


class HFWeightsError(ValueError):
    """A checkpoint whose tensors do not fit the model its config describes."""


# ----------------------------------------------------------------------------- reshapes
def T(w):                                   # [out, in] -> [in, out]
    return w.T


def same(w):
    return w


def heads_out(cfg: Config, width: int):
    """o_proj [D, N*H] -> [N, H, D]."""
    return lambda w: w.T.reshape(cfg.n_heads, width, cfg.d_model)


def grouped_qkv(cfg: Config, transpose: bool = True):
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


def gpt2_qkv(cfg: Config):
    """GPT-2's c_attn, [D, 3D] (or [3D]) as q | k | v along the last axis -> grouped."""
    fuse = grouped_qkv(cfg, transpose=False)
    return lambda w: fuse(*np.split(w, 3, axis=-1))


def stacked(n: int, reshape=T):
    return lambda *ws: np.stack([reshape(w) for w in ws[:n]])


def deinterleave(R: int) -> np.ndarray:
    """Index order that turns interleaved rotary pairs (0,1),(2,3).. into halves (0,2,..|1,3,..)."""
    return np.concatenate([np.arange(0, R, 2), np.arange(1, R, 2)])


def mla_rows(cfg: Config, interleaved: bool):
    """q_b_proj / q_proj [N*(P+R), in] -> [in, N, P+R], rotary part de-interleaved."""
    P, R = cfg.head_dim, cfg.qk_rope_dim
    order = np.concatenate([np.arange(P), P + deinterleave(R)]) if interleaved else np.arange(P + R)
    return lambda w: w.T.reshape(w.shape[1], cfg.n_heads, P + R)[..., order]


def mla_latent(cfg: Config, interleaved: bool):
    """kv_a_proj_with_mqa [C+R, D] -> [D, C+R], rotary key de-interleaved."""
    C, R = cfg.kv_lora_rank, cfg.qk_rope_dim
    order = np.concatenate([np.arange(C), C + deinterleave(R)]) if interleaved else np.arange(C + R)
    return lambda w: w.T[:, order]


def mla_kv_b(cfg: Config, part: str):
    """kv_b_proj [N*(P+H), C] -> keys [C, N, P] or values [C, N, H]."""
    N, P, H = cfg.n_heads, cfg.head_dim, cfg.v_head_dim

    def split(w):
        w = w.reshape(N, P + H, -1)
        return (w[:, :P] if part == "k" else w[:, P:]).transpose(2, 0, 1)
    return split


# ----------------------------------------------------------------------------- tables
def gpt2_table(cfg: Config, hf: dict) -> dict[str, Rule]:
    t = {"wte_VD": (("wte.weight",), same), "wpe_TD": (("wpe.weight",), same),
         "norm_out.scale_D": (("ln_f.weight",), same), "norm_out.bias_D": (("ln_f.bias",), same)}
    for i in range(cfg.n_layers):
        h, b = f"h.{i}.", f"blocks.{i}."
        t.update({
            b + "norm_attn.scale_D": ((h + "ln_1.weight",), same),
            b + "norm_attn.bias_D": ((h + "ln_1.bias",), same),
            b + "attn.wqkv_DKJH": ((h + "attn.c_attn.weight",), gpt2_qkv(cfg)),
            b + "attn.bqkv_KJH": ((h + "attn.c_attn.bias",), gpt2_qkv(cfg)),
            b + "attn.wo_NHD": ((h + "attn.c_proj.weight",),
                                lambda w: w.reshape(cfg.n_heads, cfg.head_dim, cfg.d_model)),
            b + "attn.bo_D": ((h + "attn.c_proj.bias",), same),
            b + "norm_mlp.scale_D": ((h + "ln_2.weight",), same),
            b + "norm_mlp.bias_D": ((h + "ln_2.bias",), same),
            b + "mlp.w_in_DF": ((h + "mlp.c_fc.weight",), same),
            b + "mlp.b_in_F": ((h + "mlp.c_fc.bias",), same),
            b + "mlp.w_out_FD": ((h + "mlp.c_proj.weight",), same),
            b + "mlp.b_out_D": ((h + "mlp.c_proj.bias",), same)})
    return t


def decoder_table(cfg: Config, hf: dict) -> dict[str, Rule]:
    """Llama, Mistral, Mixtral, Qwen2/3(-MoE), Gemma 3 and DeepSeek-V3 share most names."""
    fam = hf.get("model_type")
    t = {"wte_VD": (("model.embed_tokens.weight",), same),
         "norm_out.scale_D": (("model.norm.weight",), same),
         "lm_head_DV": (("lm_head.weight",), T)}
    gemma = fam == "gemma3_text"
    for i in range(cfg.n_layers):
        h, b = f"model.layers.{i}.", f"blocks.{i}."
        a = h + "self_attn."
        t[b + "norm_attn.scale_D"] = ((h + "input_layernorm.weight",), same)
        if gemma:
            t[b + "post_attn.scale_D"] = ((h + "post_attention_layernorm.weight",), same)
            t[b + "norm_mlp.scale_D"] = ((h + "pre_feedforward_layernorm.weight",), same)
            t[b + "post_mlp.scale_D"] = ((h + "post_feedforward_layernorm.weight",), same)
        else:
            t[b + "norm_mlp.scale_D"] = ((h + "post_attention_layernorm.weight",), same)
        if cfg.mla:
            t.update(mla_rules(cfg, hf, a, b + "attn."))
        else:
            qkv = tuple(a + f"{x}_proj.weight" for x in "qkv")
            t[b + "attn.wqkv_DKJH"] = (qkv, grouped_qkv(cfg))
            t[b + "attn.wo_NHD"] = ((a + "o_proj.weight",), heads_out(cfg, cfg.head_dim))
            if cfg.qkv_bias:
                t[b + "attn.bqkv_KJH"] = (tuple(a + f"{x}_proj.bias" for x in "qkv"), grouped_qkv(cfg))
            if cfg.qk_norm:
                t[b + "attn.q_norm.scale_D"] = ((a + "q_norm.weight",), same)
                t[b + "attn.k_norm.scale_D"] = ((a + "k_norm.weight",), same)
        if cfg.is_moe_layer(i):
            t.update(moe_rules(cfg, fam, h, b + "mlp."))
        else:
            t.update(mlp_rules(h + "mlp.", b + "mlp."))
    return t


def mlp_rules(src: str, dst: str) -> dict[str, Rule]:
    return {dst + "w_in_DF": ((src + "gate_proj.weight",), T),
            dst + "w_up_DF": ((src + "up_proj.weight",), T),
            dst + "w_out_FD": ((src + "down_proj.weight",), T)}


def moe_rules(cfg: Config, fam: str, h: str, dst: str) -> dict[str, Rule]:
    E = cfg.n_experts
    if fam == "mixtral":    # Mixtral's own names: w1 = gate, w3 = up, w2 = down
        src, names = h + "block_sparse_moe.", ("w1", "w3", "w2")
    else:
        src, names = h + "mlp.", ("gate_proj", "up_proj", "down_proj")
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


def mla_rules(cfg: Config, hf: dict, a: str, dst: str) -> dict[str, Rule]:
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


TABLES = {"gpt2": gpt2_table}
TABLES.update({fam: decoder_table for fam in ("llama", "mistral", "mixtral", "qwen2", "qwen3",
                                              "qwen3_moe", "gemma3_text", "deepseek_v3", "kimi_k2")})

# Checkpoint entries that are not weights of the model itself: cached RoPE tables, GPT-2's
# stored causal masks, and DeepSeek's multi-token-prediction layers (past n_layers).
IGNORED = (r"\.rotary_emb\.inv_freq$", r"\.attn\.(masked_)?bias$")


# ----------------------------------------------------------------------------- loading
def open_checkpoint(path: Path) -> dict[str, tuple[Path, str]]:
    """Tensor name -> (file, name in file), from the index if there is one. Never unpickles."""
    index = path / "model.safetensors.index.json"
    if index.exists():
        try:
            weight_map = json.loads(index.read_text())["weight_map"]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise HFWeightsError(f"{index}: not a safetensors index ({err})") from None
        return {name: (path / file, name) for name, file in weight_map.items()}
    files = sorted(path.glob("*.safetensors"))
    if not files:
        pickled = sorted(p.name for p in path.glob("*.bin")) + sorted(p.name for p in path.glob("*.pt"))
        hint = (f" (found {', '.join(pickled)}: pickle files, which are never loaded here; "
                "convert them to safetensors first)") if pickled else ""
        raise HFWeightsError(f"{path}: no *.safetensors files{hint}")
    names = {}
    for file in files:
        with _safe(file, safe_open) as f:
            names.update({name: (file, name) for name in f.keys()})
    return names


def _safe(file: Path, safe_open):
    try:
        return safe_open(str(file), framework="flax")
    except Exception as err:          # truncated, corrupted or not safetensors at all
        raise HFWeightsError(f"{file}: cannot be read as safetensors ({err})") from None


def _with_prefix(table: dict[str, Rule], names: dict) -> dict[str, Rule]:
    """GPT-2 checkpoints come with or without the 'transformer.' prefix: follow the file's."""
    if not any(n.startswith("transformer.") for n in names):
        return table
    return {key: (tuple(f"transformer.{n}" for n in src), make) for key, (src, make) in table.items()}


# --8<-- [start:load_hf]
def load_hf(path: str | Path, dtype=jnp.float32, **overrides) -> GPT:
    """The model stored in a Hugging Face directory (config.json + *.safetensors).

    `overrides` change Config fields that do not alter the weights (attention backend, say).
    Raises HFConfigError for a config we cannot read, HFWeightsError for tensors that do not fit.
    """
    path = Path(path)
    hf = read_hf_config(path)
    cfg = config_from_hf(hf, **overrides)
    names = open_checkpoint(path)
    table = TABLES[hf["model_type"]](cfg, hf)
    if hf["model_type"] == "gpt2":
        table = _with_prefix(table, names)
    graphdef, state = nnx.split(nnx.eval_shape(lambda: init_model(cfg)))
    wanted = {weight_name(p): v for p, v in nnx.to_flat_state(state)}
    if cfg.tie_embeddings:
        table.pop("lm_head_DV", None)
    missing = sorted({n for key in wanted for n in table.get(key, ((key,), None))[0]
                      if key not in table or n not in names})
    used = {n for rule in table.values() for n in rule[0]}
    unexpected = sorted(n for n in names if n not in used and not _ignorable(n, cfg))
    if missing or unexpected:
        raise HFWeightsError(f"{path}: checkpoint does not match its config: "
                             + _listing("missing", missing) + _listing("unexpected", unexpected))
    values, wrong = {}, []
    with _Files() as files:
        for key, var in wanted.items():
            sources, make = table[key]
            inputs = [files.get(*names[n]) for n in sources]
            try:
                array = make(*inputs)
            except (ValueError, IndexError, TypeError):   # the reshape itself does not fit
                wrong.append(f"{key} from {sources[0]} {tuple(inputs[0].shape)}: cannot become "
                             f"{tuple(var.shape)}")
                continue
            if tuple(array.shape) != tuple(var.shape):
                wrong.append(f"{key} from {sources[0]}: got {tuple(array.shape)}, "
                             f"expected {tuple(var.shape)}")
            values[key] = array
    if wrong:
        raise HFWeightsError(f"{path}: wrongly shaped tensors: " + "; ".join(wrong))
    flat = [(p, v.replace(jnp.asarray(values[weight_name(p)], dtype)))
            for p, v in nnx.to_flat_state(state)]
    return nnx.merge(graphdef, nnx.from_flat_state(flat))
# --8<-- [end:load_hf]


def _ignorable(name: str, cfg: Config) -> bool:
    if any(re.search(p, name) for p in IGNORED):
        return True
    if cfg.tie_embeddings and name == "lm_head.weight":
        return True
    layer = re.match(r"model\.layers\.(\d+)\.", name)
    return bool(layer) and int(layer.group(1)) >= cfg.n_layers   # DeepSeek's MTP module


def _listing(what: str, names: list[str], show: int = 12) -> str:
    if not names:
        return ""
    more = f" and {len(names) - show} more" if len(names) > show else ""
    return f"{len(names)} {what} ({', '.join(names[:show])}{more}) "


class _Files:
    """Open safetensors files on demand; tensors come back as float32 numpy arrays."""

    def __enter__(self):
        self.safe_open, self.open = safe_open, {}
        return self

    def get(self, file: Path, name: str) -> np.ndarray:
        if file not in self.open:
            self.open[file] = _safe(file, self.safe_open).__enter__()
        try:
            tensor = self.open[file].get_tensor(name)
        except Exception as err:
            raise HFWeightsError(f"{file}: tensor {name!r} cannot be read ({err})") from None
        return np.asarray(jax.device_get(tensor).astype(np.float32))

    def __exit__(self, *exc):
        for f in self.open.values():
            f.__exit__(None, None, None)
