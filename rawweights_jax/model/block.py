"""One transformer layer: attention, then an MLP (or a mixture of experts), each a residual
branch with its norms placed before (GPT-2 on), after (2017) or around (Gemma) the sub-layer."""

from __future__ import annotations

import dataclasses

import jax
from flax import nnx

from rawweights_jax.config import ModelConfig, Runtime
from rawweights_jax.nn.attention.mask import Mask
from rawweights_jax.nn.attention.mha import Attention
from rawweights_jax.nn.attention.mla import LatentAttention
from rawweights_jax.nn.dense import dropout
from rawweights_jax.nn.mlp import MLP
from rawweights_jax.nn.moe import MoE
from rawweights_jax.nn.norms import Norm


# --8<-- [start:block]
class Block(nnx.Module):
    """One layer: attention, then an MLP (or experts), each a residual branch with its norms.

    pre-norm (GPT-2 onward): x + f(norm(x)); post-norm (2017): norm(x + f(x));
    sandwich (Gemma): x + norm(f(norm(x))).
    """

    def __init__(self, cfg: ModelConfig, layer: int, runtime: Runtime = Runtime(), *, rngs: nnx.Rngs):
        self.placement = cfg.norm_placement
        self.local = cfg.layer_kinds[layer] == "local"
        self.window = cfg.sliding_window if self.local else None
        self.norm_attn, self.norm_mlp = Norm(cfg), Norm(cfg)
        self.post_attn = Norm(cfg) if self.placement == "sandwich" else None
        self.post_mlp = Norm(cfg) if self.placement == "sandwich" else None
        self.attn = (LatentAttention(cfg, runtime, rngs=rngs) if cfg.mla
                     else Attention(cfg, self.local, runtime, rngs=rngs))
        self.mlp = MoE(cfg, runtime, rngs=rngs) if cfg.is_moe_layer(layer) else MLP(cfg, rngs=rngs)

    def __call__(self, x_BTD, mask: Mask, rope=None, cache_kv=None, end=None, dropout_key=None,
                 dropout_rate: float = 0.0):
        keys = (None, None) if dropout_key is None else jax.random.split(dropout_key)
        if self.window is not None:
            mask = dataclasses.replace(mask, window=self.window)
        attn = lambda h_BTD: self.attn(h_BTD, mask, rope, cache_kv, end)
        x_BTD, cache_kv = self.residual(x_BTD, attn, self.norm_attn, self.post_attn, keys[0], dropout_rate)
        x_BTD, stats = self.residual(x_BTD, self.mlp, self.norm_mlp, self.post_mlp, keys[1], dropout_rate)
        return x_BTD, cache_kv, stats

    def residual(self, x_BTD, sublayer, norm, post_norm, key, dropout_rate: float):
        """Apply one sub-layer as a residual branch; returns (new x, the sub-layer's extra output)."""
        h_BTD = x_BTD if self.placement == "post" else norm(x_BTD)
        out = sublayer(h_BTD)
        h_BTD, extra = out if isinstance(out, tuple) else (out, None)
        if post_norm is not None:
            h_BTD = post_norm(h_BTD)
        x_BTD = x_BTD + dropout(h_BTD, dropout_rate, key)
        return (norm(x_BTD) if self.placement == "post" else x_BTD), extra
# --8<-- [end:block]
