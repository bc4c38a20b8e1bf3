"""The small parts every block is built from: matrix products, normalisation, dropout, the MLP.

Pure functions do the math (`dense`, `layer_norm`, `rms_norm`, `mlp_hidden`); the modules
(`Norm`, `MLP`) own their parameters and call them. Which variant a model uses is read from
its Config: LayerNorm or RMSNorm (optionally zero-centred, as Gemma stores it), and a plain
GELU MLP (GPT-2) or a gated one, SwiGLU (Llama, Qwen, Mistral, DeepSeek) or GeGLU (Gemma).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from rawweights_jax.config import Config


# --8<-- [start:dense]
def dense(x, w, contract: int = 1):
    """Contract the last `contract` axes of x with the first axes of w, as one 2-D matmul.

    `dense(x_BTD, wq_DNH)` is `einsum("btd,dnh->btnh")`. Flattening to [B*T, D] @ [D, N*H] first
    matters on CPU: XLA's backward pass of a 3-D product (a weight gradient contracting both
    batch and time) ran about 1.8x slower than the same product in 2-D here.
    """
    lead, inner = x.shape[:x.ndim - contract], x.shape[x.ndim - contract:]
    size = math.prod(inner)
    y = x.reshape(-1, size) @ w.reshape(size, -1)
    return y.reshape(*lead, *w.shape[contract:])
# --8<-- [end:dense]


def dropout(x, rate: float, key: jax.Array | None):
    """Zero each entry with probability `rate` and rescale the rest; identity without a key."""
    if key is None or rate == 0.0:
        return x
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), 0).astype(x.dtype)


# --8<-- [start:norms]
def layer_norm(x_BTD, scale_D, bias_D, eps: float):
    """Normalise each position to zero mean and unit variance, then scale (and shift)."""
    x32_BTD = x_BTD.astype(jnp.float32)    # statistics in float32, also under bfloat16 compute
    mean_BT1 = x32_BTD.mean(-1, keepdims=True)
    var_BT1 = jnp.square(x32_BTD - mean_BT1).mean(-1, keepdims=True)
    y_BTD = (x32_BTD - mean_BT1) * jax.lax.rsqrt(var_BT1 + eps) * scale_D
    if bias_D is not None:
        y_BTD = y_BTD + bias_D
    return y_BTD.astype(x_BTD.dtype)


def rms_norm(x_BTD, scale_D, eps: float):
    """Divide each position by its root-mean-square, then scale: LayerNorm without the mean."""
    x32_BTD = x_BTD.astype(jnp.float32)
    y_BTD = x32_BTD * jax.lax.rsqrt(jnp.square(x32_BTD).mean(-1, keepdims=True) + eps)
    return (y_BTD * scale_D).astype(x_BTD.dtype)
# --8<-- [end:norms]


def cache_write(buf_BKSH, new_BTKH, end):
    """Write T new entries into a head-major cache buffer at slot `end` (shapes stay static)."""
    return jax.lax.dynamic_update_slice_in_dim(
        buf_BKSH, new_BTKH.transpose(0, 2, 1, 3).astype(buf_BKSH.dtype), end, axis=2)


def normal_param(rngs: nnx.Rngs, std: float, *shape: int) -> nnx.Param:
    return nnx.Param(jax.random.normal(rngs.params(), shape, jnp.float32) * std)


def zeros_param(on: bool, *shape: int) -> nnx.Param | None:
    return nnx.Param(jnp.zeros(shape, jnp.float32)) if on else None


def value(param):
    """The array of an optional parameter (None stays None)."""
    return None if param is None else param[...]


class Norm(nnx.Module):
    """LayerNorm or RMSNorm over the last axis, as the Config says (width D unless given)."""

    def __init__(self, cfg: Config, width: int | None = None, kind: str | None = None):
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


# --8<-- [start:mlp]
ACTIVATIONS = {"gelu": lambda h: jax.nn.gelu(h, approximate=True),
               "swiglu": jax.nn.silu,
               "geglu": lambda h: jax.nn.gelu(h, approximate=True)}


def mlp_hidden(kind: str, gate_BTF, up_BTF=None):
    """The MLP's hidden layer from its input projections: act(gate), or act(gate) * up when gated."""
    h_BTF = ACTIVATIONS[kind](gate_BTF)
    return h_BTF if up_BTF is None else h_BTF * up_BTF


class MLP(nnx.Module):
    """Position-wise feed-forward: widen to F, activate (gated for SwiGLU/GeGLU), project back."""

    def __init__(self, cfg: Config, width: int | None = None, *, rngs: nnx.Rngs):
        D, F = cfg.d_model, width or cfg.d_ff
        self.kind = cfg.mlp
        self.w_in_DF = normal_param(rngs, cfg.init_std, D, F)      # the gate, when gated
        self.w_up_DF = normal_param(rngs, cfg.init_std, D, F) if cfg.mlp != "gelu" else None
        self.w_out_FD = normal_param(rngs, cfg.init_std / math.sqrt(2 * cfg.n_layers), F, D)
        self.b_in_F, self.b_out_D = zeros_param(cfg.bias, F), zeros_param(cfg.bias, D)
        self.b_up_F = zeros_param(cfg.bias and self.w_up_DF is not None, F)

    def __call__(self, x_BTD):
        with_bias = lambda y, b: y if b is None else y + b[...]
        gate_BTF = with_bias(dense(x_BTD, self.w_in_DF[...]), self.b_in_F)
        up_BTF = None if self.w_up_DF is None else with_bias(dense(x_BTD, self.w_up_DF[...]), self.b_up_F)
        return with_bias(dense(mlp_hidden(self.kind, gate_BTF, up_BTF), self.w_out_FD[...]), self.b_out_D)
# --8<-- [end:mlp]
