"""Checkpoints: the whole training state in one safetensors file, written atomically, no pickle.

A checkpoint holds every array of the run (parameters `params/...` and optimizer state
`opt/...`, named by their path in the pytree) plus, in the file's metadata, the run config (model and
recipe), the step, the random key, the tokenizer (its spec: characters, or a byte-level BPE's
vocabulary and merges), the metrics history, and a
sha256 of all tensor bytes and of every other metadata entry: a changed step or config is
corruption, like a flipped weight. safetensors stores raw little-endian arrays behind a JSON header, so loading
executes nothing from the file, unlike pickle.

Writes go to a temporary file in the same folder and are renamed over the target, so a run
killed mid-write leaves the previous checkpoint intact. Loading checks, and names in its
error, every way a file can be wrong: truncated or corrupted bytes, another model's shapes,
missing or unexpected tensors, missing metadata. Files of the older format 1 (one mixed
Config) are still read, and so are files from before tokenizer specs (their `chars` alone name
a character tokenizer). A quantized model (`rawweights quantize`) is saved the same way, its
integers and scales as tensors and `quant` in the metadata; files without it are float.
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

from rawweights_jax.config import ModelConfig, RunConfig, Runtime, TrainConfig
from rawweights_jax.config.base import fields_of
from rawweights_jax.core.names import weight_name
from rawweights_jax.data.tokenizer import CharTokenizer, Tokenizer
from rawweights_jax.data.tokenizer_spec import from_spec
from rawweights_jax.model.gpt import init_model
from rawweights_jax.nn.quant import check_quant, quantize_params

LATEST = "ckpt.safetensors"
FORMAT = "rawweights-checkpoint-2"
OLD_FORMAT = "rawweights-checkpoint-1"     # one mixed Config; read, never written
METADATA = ("format", "run", "step", "key", "chars", "history")
TEMPORARY = ".*.safetensors.*.tmp"         # what an interrupted save leaves behind


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


def _digest(tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> str:
    """sha256 of every tensor (name and bytes) and of the metadata entries other than itself."""
    h = hashlib.sha256()
    if metadata is not None:
        h.update(json.dumps({k: v for k, v in metadata.items() if k != "sha256"}, sort_keys=True).encode())
    for name in sorted(tensors):
        h.update(name.encode())
        h.update(np.ascontiguousarray(tensors[name]).tobytes())
    return h.hexdigest()


# --8<-- [start:save]
def save(path: str | Path, run: RunConfig, params, opt_state, step: int, key,
         tokenizer: Tokenizer | str, history: dict[str, Any] | None = None,
         quant: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint atomically (temporary file, then rename over `path`). `tokenizer` is
    a Tokenizer or a string of characters (a CharTokenizer's). `quant` ({"bits": 8 or 4,
    "group": None or N, "act_bits": None or 8}) marks quantized `params` (nn/quant.py)."""
    path = Path(path)
    tok = CharTokenizer(tokenizer) if isinstance(tokenizer, str) else tokenizer
    tensors = {**flatten("params", params), **flatten("opt", opt_state)}
    metadata = {"format": FORMAT, "run": run.to_json(), "step": str(step),
                "key": json.dumps(np.asarray(key).tolist()),
                "chars": json.dumps(getattr(tok, "chars", "")),   # what older readers look for
                "tokenizer": json.dumps(tok.spec()), "history": json.dumps(history or {})}
    if quant is not None:
        metadata["quant"] = json.dumps(quant)
    metadata["sha256"] = _digest(tensors, metadata)
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
    kind = metadata.get("format")
    if kind == OLD_FORMAT:                # its digest covered the tensors only
        if _digest(tensors) != metadata.get("sha256"):
            raise CheckpointError(f"{path} is corrupted: its tensors do not match the recorded sha256")
        metadata = {**metadata, "format": FORMAT, "run": _old_config(metadata, path)}
    elif kind != FORMAT:
        raise CheckpointError(f"{path} is not a rawweights checkpoint "
                              f"(format {kind!r}, expected {FORMAT!r})")
    elif _digest(tensors, metadata) != metadata.get("sha256"):
        raise CheckpointError(f"{path} is corrupted: its tensors or metadata do not match the "
                              "recorded sha256")
    missing = [name for name in METADATA if name not in metadata]
    if missing:
        raise CheckpointError(f"{path} lacks metadata: {', '.join(missing)}")
    return tensors, metadata


def _old_config(metadata: dict[str, str], path: Path) -> str:
    """A format-1 file's one Config, split into the run config of today (as JSON)."""
    try:
        old = json.loads(metadata["config"])
    except (KeyError, ValueError) as err:
        raise CheckpointError(f"{path} lacks a readable config ({err})") from None
    dense = old.pop("dense_layers", 0)
    for runtime_field in ("attention", "moe_dispatch"):
        old.pop(runtime_field, None)
    model = {k: v for k, v in old.items() if k in fields_of(ModelConfig)}
    if old.get("n_experts"):
        model["mlp_layers"] = ["dense"] * dense + ["moe"] * (old["n_layers"] - dense)
    train = {k: v for k, v in old.items() if k in fields_of(TrainConfig)}
    return json.dumps({"model": model, "train": train})


def run_of(metadata: dict[str, str], source: Path | str = "checkpoint") -> RunConfig:
    """The run config stored in a checkpoint's metadata."""
    try:
        return RunConfig.from_dict(json.loads(metadata["run"]))
    except ValueError as err:
        raise CheckpointError(f"{source}: its stored run config is invalid ({err})") from None


def quant_of(metadata: dict[str, str], source: Path | str = "checkpoint") -> dict | None:
    """The quantization a checkpoint's weights carry ({"bits", "group", "act_bits"}), or None
    for float."""
    if "quant" not in metadata:
        return None
    try:
        quant = {"act_bits": None, **json.loads(metadata["quant"])}
        check_quant(quant["bits"], quant["group"], act_bits=quant["act_bits"])
    except (ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"{source}: its stored quantization is invalid ({err})") from None
    return quant


def check_compatible(saved: ModelConfig, cfg: ModelConfig, source: Path) -> None:
    """A resumed run trains the very model it saved: every model field must agree."""
    diffs = [f"{f}={getattr(saved, f)!r} in the checkpoint, {getattr(cfg, f)!r} in the config"
             for f in fields_of(ModelConfig) if getattr(saved, f) != getattr(cfg, f)]
    if diffs:
        raise CheckpointError(f"{source} was trained with another model: " + "; ".join(diffs))


def prepare_folder(folder: Path) -> None:
    """Make `folder` ready for checkpoints, or raise naming why it cannot be: it must be a
    writable directory. Temporary files an interrupted save left there are removed."""
    if folder.exists() and not folder.is_dir():
        raise CheckpointError(f"{folder} is a file, not a folder for checkpoints")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test."):
            pass
    except OSError as err:
        raise CheckpointError(f"cannot write checkpoints into {folder}: {err.strerror or err}") from None
    for stale in folder.glob(TEMPORARY):
        stale.unlink(missing_ok=True)


def load_train_state(path: str | Path, run: RunConfig, template, tokenizer: Tokenizer | None = None):
    """The TrainState and history saved at `path`, for resuming `run` (same model, and the
    same `tokenizer` when given: other token ids would mean other text)."""
    path = Path(path)
    tensors, meta = read(path)
    if "quant" in meta:
        raise CheckpointError(f"{path} holds quantized weights ({meta['quant']}): it is for "
                              "generation, training cannot resume from it")
    check_compatible(run_of(meta, path).model, run.model, path)
    saved = tokenizer_of(meta, path)
    if tokenizer is not None and saved.spec() != tokenizer.spec():
        raise CheckpointError(f"{path} was trained with the {saved.name} tokenizer, not this "
                              f"data's {tokenizer.name} (or another one of that name)")
    params = unflatten("params", template.params, tensors, path)
    opt_state = unflatten("opt", template.opt_state, tensors, path)
    key = jnp.asarray(json.loads(meta["key"]), dtype=jnp.uint32)
    state = type(template)(params, opt_state, jnp.asarray(int(meta["step"]), jnp.int32), key)
    return state, json.loads(meta["history"])


def load_model(path: str | Path, runtime: Runtime = Runtime()):
    """(model, tokenizer, run config, metadata) from a checkpoint file or a folder holding one."""
    path = Path(path)
    tensors, meta = read(path)
    run = run_of(meta, path)
    graphdef, template = nnx.split(nnx.eval_shape(lambda: init_model(run.model, 0, runtime)), nnx.Param)
    quant = quant_of(meta, path)
    if quant is not None:        # the template's matrices become quantized ones of the same shapes
        template = jax.eval_shape(lambda t: quantize_params(t, quant["bits"], quant["group"],
                                                                quant["act_bits"]), template)
    params = unflatten("params", template, tensors, path)
    tokenizer = tokenizer_of(meta, path)
    if tokenizer.vocab_size > run.model.vocab_size:
        raise CheckpointError(f"{path}: its tokenizer {tokenizer.name} has {tokenizer.vocab_size} "
                              f"tokens but the model only {run.model.vocab_size}")
    return nnx.merge(graphdef, params), tokenizer, run, meta


def tokenizer_of(metadata: dict[str, str], source: Path | str = "checkpoint") -> Tokenizer:
    """The tokenizer a checkpoint was trained with: its stored spec, or (a file from before
    specs) a character tokenizer of its stored characters."""
    try:
        if "tokenizer" in metadata:
            return from_spec(json.loads(metadata["tokenizer"]))
        return CharTokenizer(json.loads(metadata["chars"]))
    except (ValueError, TypeError) as err:
        raise CheckpointError(f"{source}: its stored tokenizer is invalid ({err})") from None
