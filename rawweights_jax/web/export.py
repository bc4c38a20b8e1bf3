"""A checkpoint as a browser bundle: the weights in one flat binary, a JSON manifest, and JAX's
own logits to check the browser's arithmetic against.

    rawweights export-web --ckpt out/cpu --out site/playground/student

writes three files into the folder:

    weights.bin      every parameter, little-endian, one after the other (16-byte aligned)
    manifest.json    format, model config, vocabulary, and each tensor's shape, dtype and offset
    reference.json   what JAX computes from exactly these weights: the next-character logits
                     after a few prompts, and a greedy continuation of one of them

The weights are float16 by default: the robot student's 0.8M parameters take 1.6 MB instead
of 3.2 MB, which keeps the playground page and its bundle under 3 MB. Rounding to float16 moves
the logits a little (the reference records by how much, against the float32 checkpoint); the
reference itself is computed from the rounded weights, so a correct browser implementation
matches it to float32 rounding whatever the storage type.

Only the architectures the playground's JavaScript implements are exported (GPT-2 style:
learned positions, pre-LayerNorm, GELU MLP; Llama style: rotary positions, RMSNorm, SwiGLU;
multi-head or grouped-query attention, tied or untied head, biases or none); anything else is
refused naming the fields, as is a quantized
checkpoint. The folder is written whole or not at all: a temporary folder renamed into place.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from flax import nnx

from rawweights_jax.ckpt.checkpoint import flatten, load_model, unflatten
from rawweights_jax.config import ModelConfig
from rawweights_jax.data.tokenizer import CharTokenizer
from rawweights_jax.inference.generate import generate
from rawweights_jax.model.gpt import init_model

FORMAT = "rawweights-web-1"
DTYPES = ("float16", "float32")
FILES = ("manifest.json", "weights.bin", "reference.json")
ALIGN = 16                   # every tensor starts on a multiple of this many bytes
PROMPTS = ("ROMEO:", "First Citizen:\n", "To be, or not to be", "\n",
           "KING RICHARD III:\nNow is the winter of our discontent\nMade glorious")
CONTINUATION = 200           # characters of the greedy continuation in the reference


class ExportError(ValueError):
    """A checkpoint the browser cannot run, or a folder the bundle cannot be written to."""


# --8<-- [start:supported]
def unsupported(cfg: ModelConfig) -> list[str]:
    """What of `cfg` the playground's JavaScript model does not implement (empty: it runs).
    docs/javascripts/playground/model.js refuses the same fields, in the same words."""
    wanted = {"position": ("learned", "rope"), "norm": ("layernorm", "rmsnorm"),
              "norm_placement": ("pre",), "mlp": ("gelu", "swiglu"), "rope_scaling": ("none",),
              "n_experts": (0,), "kv_lora_rank": (None,), "qk_norm": (False,),
              "sliding_window": (None,), "embed_scale": (False,), "norm_zero_centered": (False,)}
    problems = [f"{k}={getattr(cfg, k)!r} (the browser model implements {' or '.join(map(repr, v))})"
                for k, v in wanted.items() if getattr(cfg, k) not in v]
    if cfg.v_head_dim != cfg.head_dim:
        problems.append(f"v_head_dim={cfg.v_head_dim} (the browser model needs it equal to head_dim)")
    return problems
# --8<-- [end:supported]


def tensor_name(key: str) -> str:
    """'params/blocks/0/attn/wo_NHD/value' -> 'blocks/0/attn/wo_NHD' (what the manifest lists)."""
    return key.removeprefix("params/").removesuffix("/value")


def _check_out(out: Path) -> None:
    """`out` may be new, empty, or an earlier bundle (replaced whole); nothing else."""
    if out.exists() and not out.is_dir():
        raise ExportError(f"--out {out} is a file; give a folder for the bundle")
    if out.is_dir():
        found = {p.name for p in out.iterdir()}
        if found and not found <= set(FILES):
            others = ", ".join(sorted(found - set(FILES))[:3])
            raise ExportError(f"--out {out} holds other files ({others}); give a new or empty "
                              "folder, or an earlier bundle to replace")


def _weights(params, dtype: str) -> tuple[bytes, list[dict]]:
    """The parameters as one little-endian blob, and the manifest's table of them."""
    arrays = {tensor_name(k): v for k, v in flatten("params", params).items()}
    blob, table = bytearray(), []
    for name in sorted(arrays, key=_order):
        x = np.ascontiguousarray(arrays[name], dtype=np.dtype(dtype).newbyteorder("<"))
        if not np.isfinite(x).all():
            raise ExportError(f"{name} has values beyond {dtype}'s range (largest |x| = "
                              f"{float(np.abs(arrays[name]).max()):.3g}); export as float32")
        blob += bytes(-len(blob) % ALIGN)
        table.append({"name": name, "shape": list(x.shape), "dtype": dtype, "offset": len(blob),
                      "bytes": x.nbytes})
        blob += x.tobytes()
    return bytes(blob), table


def _order(name: str):
    """Embeddings first, then the layers in order, then the head: a reader of the file sees
    the model from input to output."""
    parts = name.split("/")
    if parts[0] == "blocks":
        return (1, int(parts[1]), "/".join(parts[2:]))
    return ({"wte_VD": 0, "wpe_TD": 0.5}.get(parts[0], 2), 0, name)


def bundle_model(weights: bytes, table: list[dict], cfg: ModelConfig):
    """The model the bundle describes, in JAX (weights widened to float32, as the browser does)."""
    graphdef, template = nnx.split(nnx.eval_shape(lambda: init_model(cfg, 0)), nnx.Param)
    tensors = {}
    for t in table:
        x = np.frombuffer(weights, np.dtype(t["dtype"]).newbyteorder("<"), int(np.prod(t["shape"])),
                          t["offset"]).reshape(t["shape"])
        tensors[f"params/{t['name']}/value"] = x.astype(np.float32)
    return nnx.merge(graphdef, unflatten("params", template, tensors, Path("weights.bin")))


def load_bundle(folder: str | Path):
    """(model, tokenizer, manifest) of an exported bundle: the round trip of `export_web`."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        weights = (folder / manifest["weights"]["file"]).read_bytes()
    except (OSError, ValueError, KeyError) as err:
        raise ExportError(f"{folder} is not a readable bundle: {err}") from None
    if manifest.get("format") != FORMAT:
        raise ExportError(f"{folder}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    if hashlib.sha256(weights).hexdigest() != manifest["weights"]["sha256"]:
        raise ExportError(f"{folder}/weights.bin does not match the manifest's sha256")
    cfg = ModelConfig.from_dict(manifest["model"])
    return (bundle_model(weights, manifest["tensors"], cfg), CharTokenizer("".join(manifest["vocab"])),
            manifest)


@nnx.jit
def _forward(model, tokens_BT):
    return model(tokens_BT)


def last_logits(model, rows: list[list[int]]) -> np.ndarray:
    """The next-token logits after each row, [B, V], in one compiled call: the rows are right-
    padded to one width, and causality keeps the padding from reaching a row's last position."""
    width = max(map(len, rows))
    tokens_BT = np.zeros((len(rows), width), np.int32)
    for b, row in enumerate(rows):
        tokens_BT[b, :len(row)] = row
    logits_BTV = np.asarray(_forward(model, jnp.asarray(tokens_BT)), np.float32)
    return logits_BTV[np.arange(len(rows)), [len(r) - 1 for r in rows]]


def reference_prompts(tokenizer: CharTokenizer, context: int, seed: int = 0) -> list[str]:
    """The default prompts the vocabulary can spell (cut to the context), then three random
    strings of its characters: one character, half the context, the whole context."""
    known = [p[-context:] for p in PROMPTS if all(c in tokenizer.index for c in p)]
    rng = np.random.default_rng(seed)
    chars = tokenizer.chars
    randoms = ["".join(chars[i] for i in rng.integers(0, len(chars), n))
               for n in (1, max(1, context // 2), context)]
    return known + randoms


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, allow_nan=False, indent=1, ensure_ascii=False) + "\n")


def export_web(ckpt: str | Path, out: str | Path, *, dtype: str = "float16",
               continuation: int = CONTINUATION) -> dict:
    """Write the bundle of the checkpoint `ckpt` (a file, or a folder holding ckpt.safetensors)
    into the folder `out`; returns the manifest."""
    if dtype not in DTYPES:
        raise ExportError(f"dtype {dtype!r}: expected one of {', '.join(DTYPES)}")
    out = Path(out)
    _check_out(out)
    model32, tokenizer, run, meta = load_model(ckpt)     # CheckpointError names a bad file
    if "quant" in meta:
        raise ExportError(f"{ckpt} holds quantized weights ({meta['quant']}); export the float "
                          "checkpoint it was made from")
    if not isinstance(tokenizer, CharTokenizer):   # the playground's JavaScript reads characters
        raise ExportError(f"{ckpt} uses the {tokenizer.name} tokenizer; the browser bundle "
                          "supports character tokenizers only")
    cfg = run.model
    problems = unsupported(cfg)
    if problems:
        raise ExportError(f"{ckpt}: the browser model cannot run this architecture: "
                          + "; ".join(problems))
    weights, table = _weights(nnx.state(model32, nnx.Param), dtype)
    model = bundle_model(weights, table, cfg)             # what the browser will compute
    prompts = reference_prompts(tokenizer, cfg.context_len)
    rows = [tokenizer.encode(p) for p in prompts]
    logits = last_logits(model, rows)
    logits32 = last_logits(model32, rows)
    seed_text = prompts[0]
    greedy = tokenizer.decode(generate(model, [rows[0]], continuation, temperature=0.0)[0])
    greedy32 = tokenizer.decode(generate(model32, [rows[0]], continuation, temperature=0.0)[0])
    same = next((i for i, (a, b) in enumerate(zip(greedy, greedy32)) if a != b), len(greedy))
    source = Path(ckpt)
    manifest = {
        "format": FORMAT,
        "model": json.loads(cfg.to_json()),
        "vocab": list(tokenizer.chars),
        "dtype": dtype,
        "weights": {"file": "weights.bin", "bytes": len(weights),
                    "sha256": hashlib.sha256(weights).hexdigest()},
        "tensors": table,
        "source": {"checkpoint": source.name, "step": int(meta["step"]), "sha256": meta["sha256"]},
        "reference": "reference.json",
    }
    reference = {
        "prompts": [{"text": p, "logits": [float(z) for z in row]} for p, row in zip(prompts, logits)],
        "greedy": {"prompt": seed_text, "new_tokens": continuation, "text": greedy},
        # What storing the weights as `dtype` cost, measured against the float32 checkpoint.
        "rounding": {"dtype": dtype,
                     "max_abs_logit_change": float(np.abs(logits - logits32).max()),
                     "max_abs_logit": float(np.abs(logits32).max()),
                     "same_argmax": int((logits.argmax(-1) == logits32.argmax(-1)).sum()),
                     "prompts": len(prompts),
                     "greedy_chars_equal_to_float32": same},
    }
    _publish(out, {"weights.bin": weights}, {"manifest.json": manifest, "reference.json": reference})
    return manifest


def _publish(out: Path, blobs: dict[str, bytes], documents: dict[str, object]) -> None:
    """Write the files into a temporary folder beside `out`, then swap it into place."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    except OSError as err:
        raise ExportError(f"cannot write the bundle into {out}: {err.strerror or err}") from None
    try:
        for name, blob in blobs.items():
            (tmp / name).write_bytes(blob)
        for name, obj in documents.items():
            _write_json(tmp / name, obj)
        os.chmod(tmp, 0o755)
        if out.is_dir():
            old = out.with_name(f".{out.name}.{os.getpid()}.old")
            os.rename(out, old)
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
