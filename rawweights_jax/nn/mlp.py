"""The position-wise MLP: a plain GELU MLP (GPT-2) or a gated one, SwiGLU (Llama, Qwen, Mistral,
DeepSeek) or GeGLU (Gemma). `mlp_hidden` is shared with the experts of nn/moe.py.
"""

from __future__ import annotations

import math

import jax
from flax import nnx

from rawweights_jax.config import ModelConfig
from rawweights_jax.nn.dense import dense, normal_param, zeros_param


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

    def __init__(self, cfg: ModelConfig, width: int | None = None, *, rngs: nnx.Rngs):
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
