"""Normalisation: LayerNorm (GPT-2) and RMSNorm (Llama and after), as pure functions and a module.

`Norm` reads its kind from the ModelConfig, optionally zero-centred (Gemma stores scale - 1, so
weight decay pulls the scale towards 1). Statistics are computed in float32 also under
bfloat16 compute.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from rawweights_jax.config import ModelConfig
from rawweights_jax.nn.dense import value, zeros_param


# --8<-- [start:norms]
def layer_norm(x_BTD, scale_D, bias_D, eps: float):
    """Normalise each position to zero mean and unit variance, then scale (and shift)."""
    x32_BTD = x_BTD.astype(jnp.float32)    # statistics in float32, also under bfloat16 compute
    mean_BT1 = x32_BTD.mean(-1, keepdims=True)
    var_BT1 = jnp.square(x32_BTD - mean_BT1).mean(-1, keepdims=True)
    y_BTD = (x32_BTD - mean_BT1) * jax.lax.rsqrt(var_BT1 + eps) * scale_D.astype(jnp.float32)
    if bias_D is not None:
        y_BTD = y_BTD + bias_D.astype(jnp.float32)
    return y_BTD.astype(x_BTD.dtype)


def rms_norm(x_BTD, scale_D, eps: float):
    """Divide each position by its root-mean-square, then scale: LayerNorm without the mean."""
    x32_BTD = x_BTD.astype(jnp.float32)
    y_BTD = x32_BTD * jax.lax.rsqrt(jnp.square(x32_BTD).mean(-1, keepdims=True) + eps)
    return (y_BTD * scale_D.astype(jnp.float32)).astype(x_BTD.dtype)
# --8<-- [end:norms]


class Norm(nnx.Module):
    """LayerNorm or RMSNorm over the last axis, as the ModelConfig says (width D unless given)."""

    def __init__(self, cfg: ModelConfig, width: int | None = None, kind: str | None = None):
        width = width or cfg.d_model
        self.kind, self.eps, self.zero_centered = kind or cfg.norm, cfg.norm_eps, cfg.norm_zero_centered
        # Zero-centred: the stored weight is scale - 1, so weight decay pulls the scale to 1.
        self.scale_D = nnx.Param(jnp.full((width,), 0.0 if self.zero_centered else 1.0, jnp.float32))
        self.bias_D = zeros_param(cfg.bias and self.kind == "layernorm", width)

    def __call__(self, x_BTD):
        scale_D = self.scale_D[...] + 1.0 if self.zero_centered else self.scale_D[...]
        if self.kind == "layernorm":
            return layer_norm(x_BTD, scale_D, value(self.bias_D), self.eps)
        return rms_norm(x_BTD, scale_D, self.eps)
