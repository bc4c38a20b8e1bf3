"""Quantizing a trained model, and measuring what it cost: a checkpoint in, a smaller checkpoint
out (`rawweights quantize`), the validation loss on fixed windows, and the error each matrix's
output picks up. The quantization itself is nn/quant.py, below the model, so checkpoints and
the forward pass read quantized weights without a second model class.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from rawweights_jax.ckpt.checkpoint import LATEST, CheckpointError, load_model, run_of, save
from rawweights_jax.core.names import weight_name
from rawweights_jax.data.batches import spaced_windows
from rawweights_jax.inference.generate import params_dtype
from rawweights_jax.kvcache.cache import KVCache
from rawweights_jax.nn.quant import (QuantizedWeight, check_quant, dequantize, is_quantized,
                                     quantize_model)
from rawweights_jax.train.loss import cross_entropy


def quantize_checkpoint(src: str | Path, out: str | Path, bits: int, group: int | None = None,
                        act_bits: int | None = None) -> Path:
    """Read the float checkpoint at `src`, quantize its matrices, write `out/ckpt.safetensors`.

    The run config, step, key, vocabulary and history are carried over; the optimizer state is
    not (a quantized model is for generation). `out` must not exist yet.
    """
    group = check_quant(bits, group, act_bits=act_bits) or None
    out = Path(out)
    if out.exists():
        raise ValueError(f"{out} exists: choose a new folder for the quantized checkpoint")
    model, tokenizer, run, meta = load_model(src)
    if "quant" in meta:
        raise CheckpointError(f"{src} is already quantized ({meta['quant']})")
    qmodel = quantize_model(model, bits, group, act_bits)
    return save(out / LATEST, run_of(meta, src), nnx.state(qmodel, nnx.Param), {},
                int(meta["step"]), jnp.asarray(json.loads(meta["key"]), jnp.uint32),
                tokenizer, json.loads(meta["history"]),
                quant={"bits": bits, "group": group, "act_bits": act_bits})


@nnx.jit(static_argnames="kv_bits")
def _window_losses(model, x_BT, y_BT, kv_bits=0):
    if not kv_bits:
        return cross_entropy(model(x_BT), y_BT)
    # through the cache: every layer writes its keys and values as int8 and attends over them
    B, T = x_BT.shape
    cache = KVCache.empty(model.cfg, B, T, params_dtype(nnx.state(model, nnx.Param)), kv_bits)
    return cross_entropy(model.step(x_BT, cache)[0], y_BT)


def val_loss(model, val_Z, length: int, count: int = 256, batch: int = 64,
             kv_bits: int | None = None) -> float:
    """Mean next-token cross-entropy (nats) on `count` evenly spaced validation windows: the
    same windows for every model, so differences between models are not sampling noise.
    `kv_bits=8` scores the windows as a prefill into an int8 KV cache (attention reads the
    rounded keys and values)."""
    x_NT, y_NT = spaced_windows(val_Z, length, count)
    losses = [float(_window_losses(model, x_NT[i:i + batch], y_NT[i:i + batch], kv_bits or 0))
              for i in range(0, count, batch)]
    return float(np.mean(losses))


def layer_errors(float_model, quant_model, samples: int = 256, seed: int = 0) -> dict[str, float]:
    """Relative Frobenius error of each quantized matrix's output, ||x W - x W_q|| / ||x W||,
    on Gaussian inputs x (rows of unit variance, as a norm leaves them), per weight name."""
    flat = lambda m: {weight_name(p): x for p, x in jax.tree_util.tree_flatten_with_path(
        nnx.state(m, nnx.Param), is_leaf=is_quantized)[0]}
    ref, quant = flat(float_model), flat(quant_model)
    key = jax.random.key(seed)
    out = {}
    for name, wq in quant.items():
        if not isinstance(wq, QuantizedWeight):
            continue
        I = int(np.prod(wq.shape[:wq.contract]))
        x_MI = jax.random.normal(jax.random.fold_in(key, len(out)), (samples, I))
        w_IO = ref[name].reshape(I, -1)
        y = x_MI @ w_IO
        err = x_MI @ dequantize(wq).reshape(I, -1) - y
        out[name.removesuffix(".value")] = round(float(jnp.linalg.norm(err) / jnp.linalg.norm(y)), 6)
    return out
