"""`rawweights bench quant`: what int8 and int4 weights (and an int8 KV cache) buy and cost,
against float32 and bfloat16, in one run: decode tokens/s at batch 1 and 8 on the `shakespeare-char` shape, weight
bytes, the speed limit of streaming float32 weights, and the validation loss and per-matrix
output error of a trained checkpoint (the CPU preset's, trained first when none is given).

With a mesh (the command's default: the weights split over the cores, as `rawweights generate`
does) the speed is measured again on one device, where no sums across devices follow each
layer. Speed does not depend on what the weights are, so it is measured on a freshly initialised
model of the larger shape; quality needs trained weights. The variants are timed in
interleaved rounds (every variant once per round, and the weight-streaming limit), so a change
in the machine's load hits all of them alike; medians are reported with the slowest and
fastest round.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.sharding import Mesh

from rawweights_jax.bench.common import environment, print_table
from rawweights_jax.bench.decode import weight_stream_steps_per_second
from rawweights_jax.ckpt.checkpoint import LATEST, load_model
from rawweights_jax.config import preset
from rawweights_jax.data.shakespeare import load_shakespeare
from rawweights_jax.inference.generate import generate
from rawweights_jax.inference.quant import layer_errors, val_loss
from rawweights_jax.kvcache.cache import KVCache
from rawweights_jax.model.gpt import init_model
from rawweights_jax.nn.quant import quantize_model, weight_bytes
from rawweights_jax.parallel.sharding import shard_model
from rawweights_jax.train.loop import train

CPU_PRESET = "shakespeare-char-cpu"
DEFAULT_CKPT = Path("out") / CPU_PRESET


def variants(model, group: int) -> dict:
    """The same model as float32, bfloat16 (weights and activations), int8 and int4 weights, and
    int8 weights with int8 activations (w8a8)."""
    graphdef, params = nnx.split(model, nnx.Param)
    bf16 = nnx.merge(graphdef, jax.tree.map(lambda x: x.astype(jnp.bfloat16), params))
    return {"f32": model, "bf16": bf16, "int8": quantize_model(model, 8),
            "int4": quantize_model(model, 4, group), "w8a8": quantize_model(model, 8, act_bits=8)}


def trained_checkpoint(ckpt: Path | None, quiet: bool) -> Path:
    """`ckpt`, or the CPU preset's checkpoint in out/, trained now if it is not there yet."""
    if ckpt is not None:
        return ckpt
    if not (DEFAULT_CKPT / LATEST).is_file():
        if not quiet:
            print(f"training {CPU_PRESET} into {DEFAULT_CKPT} (once; later runs reuse it)")
        train(preset(CPU_PRESET), load_shakespeare(), out_dir=DEFAULT_CKPT,
              progress=None if quiet else print)
    return DEFAULT_CKPT


def quality(ckpt: Path, group: int) -> dict:
    """Validation loss of each variant of the trained model, and each matrix's output error."""
    model, tokenizer, run, _ = load_model(ckpt)
    data = load_shakespeare()      # the validation split, in the checkpoint's own vocabulary
    val_Z = np.asarray(tokenizer.encode(data.tokenizer.decode(data.val_Z.tolist())), np.int32)
    models = variants(model, group)
    out = {f"{name}_val_loss": round(val_loss(m, val_Z, run.model.context_len, count=512), 5)
           for name, m in models.items()}
    out["kv8_val_loss"] = round(val_loss(model, val_Z, run.model.context_len, count=512, kv_bits=8), 5)
    for name in ("bf16", "int8", "int4", "w8a8", "kv8"):
        out[f"{name}_val_loss_increase"] = round(out[f"{name}_val_loss"] - out["f32_val_loss"], 5)
    for name in ("int8", "int4"):         # (w8a8's weights are int8's)
        out[f"{name}_layer_output_error"] = layer_errors(model, models[name])
    return out


def speed(preset_name: str, group: int, new_tokens: int, rounds: int, mesh: Mesh | None) -> dict:
    """Decode tokens/s of each variant at batch 1 and 8: medians over interleaved rounds."""
    cfg = preset(preset_name).model
    models = {k: shard_model(m, mesh) for k, m in variants(init_model(cfg), group).items()}
    calls = {}
    for name, m in models.items():
        for batch in (1, 8):
            prompts = [[b % cfg.vocab_size] for b in range(batch)]
            calls[f"{name}_b{batch}"] = (batch, lambda m=m, p=prompts: generate(
                m, p, new_tokens, temperature=1.0, seed=0, mesh=mesh))
            if name == "f32":           # float32 weights, int8 KV cache
                calls[f"kv8_b{batch}"] = (batch, lambda m=m, p=prompts: generate(
                    m, p, new_tokens, temperature=1.0, seed=0, mesh=mesh, kv_bits=8))
    for _, call in calls.values():      # compile every variant before timing any
        call()
    seconds = {k: [] for k in calls}
    limits = []                         # the streaming limit too, once per round
    for _ in range(rounds):
        for key, (_, call) in calls.items():
            t0 = time.perf_counter()
            call()                      # generate returns Python lists: the work is done
            seconds[key].append(time.perf_counter() - t0)
        limits.append(weight_stream_steps_per_second(cfg, mesh=mesh))
    out = {}
    for key, (batch, _) in calls.items():
        tps = sorted(batch * new_tokens / s for s in seconds[key])
        out[f"{key}_tokens_per_second"] = round(float(np.median(tps)), 1)
        out[f"{key}_tokens_per_second_range"] = [round(tps[0], 1), round(tps[-1], 1)]
    for name in models:
        out[f"{name}_weight_bytes"] = weight_bytes(nnx.state(models[name], nnx.Param))
    for name, bits in (("f32", None), ("int8", 8)):      # one token's keys and values, all layers
        cache = KVCache.empty(cfg, 1, 1, jnp.float32, bits)
        out[f"{name}_kv_bytes_per_token"] = sum(x.nbytes for x in jax.tree.leaves((cache.k, cache.v)))
    for batch in (1, 8):
        for name in ("bf16", "int8", "int4", "w8a8", "kv8"):
            out[f"{name}_b{batch}_speedup"] = round(
                out[f"{name}_b{batch}_tokens_per_second"] / out[f"f32_b{batch}_tokens_per_second"], 3)
    limit = float(np.median(limits))
    out["weight_stream_limit_steps_per_second"] = round(limit, 1)
    out["weight_stream_limit_range"] = [round(min(limits), 1), round(max(limits), 1)]
    out["bandwidth_limit_fraction"] = round(out["f32_b1_tokens_per_second"] / limit, 4)
    return out


def bench_quant(ckpt: Path | None = None, group: int = 32, new_tokens: int = 128,
                rounds: int = 5, quiet: bool = False, mesh: Mesh | None = None,
                preset_name: str = "shakespeare-char") -> dict:
    """Speed on `preset_name`'s shape and quality on a trained checkpoint, in one JSON-able dict."""
    ckpt = trained_checkpoint(ckpt, quiet)
    load_before = os.getloadavg()
    result = {"benchmark": "quant", "speed_preset": preset_name, "quality_checkpoint": str(ckpt),
              "int4_group": group, "new_tokens": new_tokens, "rounds": rounds,
              **speed(preset_name, group, new_tokens, rounds, mesh)}
    if mesh is not None:     # the same on one core: no sums across devices after each layer
        one = speed(preset_name, group, new_tokens, rounds, None)
        result.update({f"one_device_{k}": v for k, v in one.items() if "bytes" not in k})
    result = {**result, **quality(ckpt, group),
              "loadavg_before_after": [round(x, 2) for x in (*load_before[:1], os.getloadavg()[0])],
              **environment()}
    if not quiet:
        print_table({k: v for k, v in result.items() if not k.endswith("layer_output_error")})
    return result
