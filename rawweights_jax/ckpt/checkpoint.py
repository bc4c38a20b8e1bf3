"""Checkpoints: the whole training state in one safetensors file, written atomically, no pickle.

A checkpoint holds every array of the run (parameters `params/...` and optimizer state
`opt/...`, named by their path in the pytree) plus, in the file's metadata, the Config, the
step, the random key, the tokenizer's characters, the metrics history, and a sha256 of all
tensor bytes. safetensors stores raw little-endian arrays behind a JSON header, so loading
executes nothing from the file, unlike pickle.

Writes go to a temporary file in the same folder and are renamed over the target, so a run
killed mid-write leaves the previous checkpoint intact. Loading checks, and names in its
error, every way a file can be wrong: truncated or corrupted bytes, another model's shapes,
missing or unexpected tensors.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from safetensors import SafetensorError
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from rawweights_jax.config import Config, architecture_fields
from rawweights_jax.core.names import weight_name
from rawweights_jax.data.tokenizer import CharTokenizer
from rawweights_jax.model.gpt import init_model

LATEST = "ckpt.safetensors"
FORMAT = "rawweights-checkpoint-1"
# Fields that change the shapes or meaning of the weights: a resumed run must agree on them.
SHAPE_FIELDS = architecture_fields()


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, damaged, or does not belong to this model."""


def flatten(prefix: str, tree) -> dict[str, np.ndarray]:
    """A pytree as {"prefix/path/to/leaf": numpy array}."""
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {f"{prefix}/{weight_name(p, '/')}": np.asarray(jax.device_get(x)) for p, x in leaves}


def unflatten(prefix: str, template, tensors: dict[str, np.ndarray], source: Path):
    """Fill `template`'s leaves from `tensors`, checking names, shapes and dtypes."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
    names = [f"{prefix}/{weight_name(p, '/')}" for p, _ in leaves]
    missing = [n for n in names if n not in tensors]
    wrong = [f"{n} {tensors[n].shape}{tensors[n].dtype} (expected {x.shape}{x.dtype})"
             for n, (_, x) in zip(names, leaves)
             if n in tensors and (tensors[n].shape != x.shape or tensors[n].dtype != x.dtype)]
    if missing or wrong:
        problems = ([f"missing: {', '.join(missing[:8])}"] if missing else []) + (
            [f"wrong shape: {'; '.join(wrong[:8])}"] if wrong else [])
        raise CheckpointError(f"{source} does not match this model: " + " | ".join(problems))
    return jax.tree_util.tree_unflatten(treedef, [jnp.asarray(tensors[n]) for n in names])


def _digest(tensors: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        h.update(name.encode())
        h.update(np.ascontiguousarray(tensors[name]).tobytes())
    return h.hexdigest()


# --8<-- [start:save]
def save(path: str | Path, cfg: Config, params, opt_state, step: int, key, chars: str,
         history: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint atomically (temporary file, then rename over `path`)."""
    path = Path(path)
    tensors = {**flatten("params", params), **flatten("opt", opt_state)}
    metadata = {"format": FORMAT, "config": cfg.to_json(), "step": str(step),
                "key": json.dumps(np.asarray(key).tolist()), "chars": json.dumps(chars),
                "history": json.dumps(history or {}), "sha256": _digest(tensors)}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(st_save(tensors, metadata=metadata))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
# --8<-- [end:save]


def read(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Tensors and metadata of a checkpoint file, verified against its recorded sha256."""
    path = Path(path)
    if path.is_dir():
        path = path / LATEST
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    raw = path.read_bytes()
    try:
        tensors = st_load(raw)
        header_len = int.from_bytes(raw[:8], "little")
        metadata = json.loads(raw[8:8 + header_len]).get("__metadata__") or {}
    except (SafetensorError, ValueError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is not a readable checkpoint (truncated or corrupted?): "
                              f"{err}") from None
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a rawweights checkpoint "
                              f"(format {metadata.get('format')!r}, expected {FORMAT!r})")
    if _digest(tensors) != metadata.get("sha256"):
        raise CheckpointError(f"{path} is corrupted: its tensors do not match the recorded sha256")
    return tensors, metadata


def config_of(metadata: dict[str, str]) -> Config:
    return Config.from_dict(json.loads(metadata["config"]))


def check_compatible(saved: Config, cfg: Config, source: Path) -> None:
    diffs = [f"{f}={getattr(saved, f)!r} in the checkpoint, {getattr(cfg, f)!r} in the config"
             for f in SHAPE_FIELDS if getattr(saved, f) != getattr(cfg, f)]
    if diffs:
        raise CheckpointError(f"{source} was trained with another model shape: " + "; ".join(diffs))


def load_train_state(path: str | Path, cfg: Config, template):
    """The TrainState and history saved at `path`, for resuming `cfg` (shapes must match)."""
    path = Path(path)
    tensors, meta = read(path)
    check_compatible(config_of(meta), cfg, path)
    params = unflatten("params", template.params, tensors, path)
    opt_state = unflatten("opt", template.opt_state, tensors, path)
    key = jnp.asarray(json.loads(meta["key"]), dtype=jnp.uint32)
    state = type(template)(params, opt_state, jnp.asarray(int(meta["step"]), jnp.int32), key)
    return state, json.loads(meta["history"])


def load_model(path: str | Path):
    """(model, tokenizer, config, metadata) from a checkpoint file or a folder holding one."""
    path = Path(path)
    tensors, meta = read(path)
    cfg = config_of(meta)
    graphdef, template = nnx.split(init_model(cfg), nnx.Param)
    params = unflatten("params", template, tensors, path)
    return nnx.merge(graphdef, params), CharTokenizer(json.loads(meta["chars"])), cfg, meta
