"""Loading Hugging Face checkpoints: `load_hf(path)` reads config.json and *.safetensors.

The family module of the config's `model_type` gives the table from our weight names to the
checkpoint's tensors (weights.py explains the reshapes). Only safetensors are read: a
pickle-based `pytorch_model.bin` is refused, never opened. Tensors that are missing, left
over, or of the wrong shape are all listed in one `HFWeightsError`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from safetensors import safe_open

from rawweights_jax.config import ModelConfig, Runtime
from rawweights_jax.core.names import weight_name
from rawweights_jax.families.hf_config import config_from_hf, family_of, read_hf_config
from rawweights_jax.families.weights import Rule
from rawweights_jax.model.gpt import GPT, init_model


class HFWeightsError(ValueError):
    """A checkpoint whose tensors do not fit the model its config describes."""


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
def load_hf(path: str | Path, dtype=jnp.float32, runtime: Runtime = Runtime()) -> GPT:
    """The model stored in a Hugging Face directory (config.json + *.safetensors), computed by
    `runtime`'s kernels (attention backend, expert dispatch).

    Raises HFConfigError for a config we cannot read, HFWeightsError for tensors that do not fit.
    """
    path = Path(path)
    hf = read_hf_config(path)
    cfg = config_from_hf(hf)
    names = open_checkpoint(path)
    table = family_of(hf["model_type"]).weights(cfg, hf)
    if hf["model_type"] == "gpt2":
        table = _with_prefix(table, names)
    graphdef, state = nnx.split(nnx.eval_shape(lambda: init_model(cfg, 0, runtime)))
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


def _ignorable(name: str, cfg: ModelConfig) -> bool:
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
