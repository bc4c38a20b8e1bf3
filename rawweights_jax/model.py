"""The robot student's brain: a decoder-only transformer, GPT-2 style, in Flax NNX.

tokens_BT -> token + position embeddings -> L x [pre-norm attention, pre-norm MLP]
          -> final norm -> logits_BTV (one score per vocabulary entry: the "voting box").

Shapes ride on names: `x_BTD` is [batch, time, width]; `wq_DNH` maps width D to N heads of
width H. The math lives in small pure functions (`layer_norm`, `gelu_mlp`, `dropout`, and
`attend` in attention.py); the modules only own their parameters and call those functions.

The key/value cache is an explicit value (`KVCache`), passed in and returned, never hidden in
module state, so a compiled decode loop can carry it like any other array.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from rawweights_jax.attention import EMPTY, Mask, attend, causal_mask
from rawweights_jax.config import Config


# --------------------------------------------------------------------------- pure functions
def layer_norm(x_BTD, scale_D, bias_D, eps: float):
    """Normalise each position to zero mean and unit variance, then scale (and shift)."""
    x32_BTD = x_BTD.astype(jnp.float32)    # statistics in float32, also under bfloat16 compute
    mean_BT1 = x32_BTD.mean(-1, keepdims=True)
    var_BT1 = jnp.square(x32_BTD - mean_BT1).mean(-1, keepdims=True)
    y_BTD = (x32_BTD - mean_BT1) * jax.lax.rsqrt(var_BT1 + eps) * scale_D
    if bias_D is not None:
        y_BTD = y_BTD + bias_D
    return y_BTD.astype(x_BTD.dtype)


def dropout(x, rate: float, key: jax.Array | None):
    """Zero each entry with probability `rate` and rescale the rest; identity without a key."""
    if key is None or rate == 0.0:
        return x
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), 0).astype(x.dtype)


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


def _maybe(param):
    return None if param is None else param[...]


def _normal(rngs: nnx.Rngs, std: float, *shape: int) -> nnx.Param:
    return nnx.Param(jax.random.normal(rngs.params(), shape, jnp.float32) * std)


def _zeros_if(on: bool, *shape: int) -> nnx.Param | None:
    return nnx.Param(jnp.zeros(shape, jnp.float32)) if on else None


# --------------------------------------------------------------------------- the KV cache
# --8<-- [start:kvcache]
class KVCache(NamedTuple):
    """Keys and values of every layer for the tokens seen so far, in fixed-size buffers.

    One buffer per layer (a tuple), so a decode step writes its new slot in place instead of
    copying a stacked [L, ...] array. Buffers are head-major, [B, K, S, H]: a decode step reads
    each head's keys as one contiguous block (with [B, S, K, H], XLA transposed the whole
    cache on every step, 15x slower here). Slots [0, end) are written. `pos_BS` is the position of
    the token in each slot, EMPTY for unwritten or padding slots, so the attention mask hides
    them without a special case. `length_B` counts the real (non-padding) tokens of each row:
    the position the next token will take.
    """

    k: tuple[jax.Array, ...]   # per layer: k_BKSH
    v: tuple[jax.Array, ...]   # per layer: v_BKSH
    pos_BS: jax.Array          # int32
    length_B: jax.Array        # int32
    end: jax.Array             # int32 scalar: next slot to write

    @classmethod
    def empty(cls, cfg: Config, batch: int, slots: int, dtype=jnp.float32) -> KVCache:
        shape = (batch, cfg.n_kv_heads, slots, cfg.head_dim)
        buffers = lambda: tuple(jnp.zeros(shape, dtype) for _ in range(cfg.n_layers))
        return cls(buffers(), buffers(), jnp.full((batch, slots), EMPTY, jnp.int32),
                   jnp.zeros((batch,), jnp.int32), jnp.zeros((), jnp.int32))
# --8<-- [end:kvcache]


# --------------------------------------------------------------------------- modules
class LayerNorm(nnx.Module):
    def __init__(self, cfg: Config):
        self.scale_D = nnx.Param(jnp.ones((cfg.d_model,), jnp.float32))
        self.bias_D = _zeros_if(cfg.bias, cfg.d_model)
        self.eps = cfg.norm_eps

    def __call__(self, x_BTD):
        return layer_norm(x_BTD, self.scale_D[...], _maybe(self.bias_D), self.eps)


# --8<-- [start:attention]
class Attention(nnx.Module):
    """Multi-head (or grouped-query) causal self-attention with an optional KV cache."""

    def __init__(self, cfg: Config, *, rngs: nnx.Rngs):
        D, N, K, H = cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
        out_std = cfg.init_std / math.sqrt(2 * cfg.n_layers)   # residual branches start small
        # Queries, keys and values in one matrix, grouped by key/value head: for each of the K
        # groups, its G = N/K query heads, then its key head, then its value head (J = G + 2).
        # One product instead of three is fewer, larger kernels (4% less CPU time per training
        # step here), and a split along K keeps each group whole on one device (parallel.py).
        self.wqkv_DKJH = _normal(rngs, cfg.init_std, D, K, N // K + 2, H)
        self.wo_NHD = _normal(rngs, out_std, N, H, D)
        self.bqkv_KJH, self.bo_D = _zeros_if(cfg.bias, K, N // K + 2, H), _zeros_if(cfg.bias, D)
        self.backend = cfg.attention

    def __call__(self, x_BTD, mask: Mask, cache_kv=None, end=None):
        qkv_BTKJH = dense(x_BTD, self.wqkv_DKJH[...])
        if self.bqkv_KJH is not None:
            qkv_BTKJH = qkv_BTKJH + self.bqkv_KJH[...]
        B, T, K, J, H = qkv_BTKJH.shape
        q_BTNH = qkv_BTKJH[:, :, :, :J - 2].reshape(B, T, K * (J - 2), H)
        k_BTKH, v_BTKH = qkv_BTKJH[:, :, :, J - 2], qkv_BTKJH[:, :, :, J - 1]
        if cache_kv is None:                 # training / full recompute: keys are the inputs
            k_BSKH, v_BSKH = k_BTKH, v_BTKH
        else:                                # write the T new slots at `end`; shapes stay static
            put = lambda buf_BKSH, new_BTKH: jax.lax.dynamic_update_slice_in_dim(
                buf_BKSH, new_BTKH.transpose(0, 2, 1, 3).astype(buf_BKSH.dtype), end, axis=2)
            cache_kv = put(cache_kv[0], k_BTKH), put(cache_kv[1], v_BTKH)
            k_BSKH, v_BSKH = (c_BKSH.transpose(0, 2, 1, 3) for c_BKSH in cache_kv)
        out_BTNH = attend(q_BTNH, k_BSKH, v_BSKH, mask, self.backend)
        out_BTD = dense(out_BTNH, self.wo_NHD[...], contract=2)
        if self.bo_D is not None:
            out_BTD = out_BTD + self.bo_D[...]
        return out_BTD, cache_kv
# --8<-- [end:attention]


# --8<-- [start:mlp]
class MLP(nnx.Module):
    """Position-wise feed-forward: widen to F, GELU, project back to D."""

    def __init__(self, cfg: Config, *, rngs: nnx.Rngs):
        D, F = cfg.d_model, cfg.d_ff
        self.w_in_DF = _normal(rngs, cfg.init_std, D, F)
        self.w_out_FD = _normal(rngs, cfg.init_std / math.sqrt(2 * cfg.n_layers), F, D)
        self.b_in_F, self.b_out_D = _zeros_if(cfg.bias, F), _zeros_if(cfg.bias, D)

    def __call__(self, x_BTD):
        h_BTF = dense(x_BTD, self.w_in_DF[...])
        if self.b_in_F is not None:
            h_BTF = h_BTF + self.b_in_F[...]
        out_BTD = dense(jax.nn.gelu(h_BTF, approximate=True), self.w_out_FD[...])
        return out_BTD if self.b_out_D is None else out_BTD + self.b_out_D[...]
# --8<-- [end:mlp]


# --8<-- [start:block]
class Block(nnx.Module):
    """x + attention(norm(x)), then x + mlp(norm(x)): the pre-norm residual block."""

    def __init__(self, cfg: Config, *, rngs: nnx.Rngs):
        self.norm_attn, self.attn = LayerNorm(cfg), Attention(cfg, rngs=rngs)
        self.norm_mlp, self.mlp = LayerNorm(cfg), MLP(cfg, rngs=rngs)
        self.dropout = cfg.dropout

    def __call__(self, x_BTD, mask: Mask, cache_kv=None, end=None, dropout_key=None):
        keys = (None, None) if dropout_key is None else jax.random.split(dropout_key)
        a_BTD, cache_kv = self.attn(self.norm_attn(x_BTD), mask, cache_kv, end)
        x_BTD = x_BTD + dropout(a_BTD, self.dropout, keys[0])
        x_BTD = x_BTD + dropout(self.mlp(self.norm_mlp(x_BTD)), self.dropout, keys[1])
        return x_BTD, cache_kv
# --8<-- [end:block]


# --8<-- [start:gpt]
class GPT(nnx.Module):
    """The whole model: `model(tokens_BT) -> logits_BTV`; `model.step(...)` decodes with a cache."""

    def __init__(self, cfg: Config, *, rngs: nnx.Rngs):
        self.cfg = cfg
        self.wte_VD = _normal(rngs, cfg.init_std, cfg.vocab_size, cfg.d_model)
        self.wpe_TD = _normal(rngs, cfg.init_std, cfg.context_len, cfg.d_model)
        self.blocks = nnx.List([Block(cfg, rngs=rngs) for _ in range(cfg.n_layers)])
        self.norm_out = LayerNorm(cfg)
        self.lm_head_DV = (None if cfg.tie_embeddings
                           else _normal(rngs, cfg.init_std, cfg.d_model, cfg.vocab_size))

    def __call__(self, tokens_BT, *, dropout_key=None):
        B, T = tokens_BT.shape
        mask = causal_mask(B, T)
        x_BTD = self.embed(tokens_BT, mask.q_pos_BT, dropout_key)
        for i, block in enumerate(self.blocks):
            key = None if dropout_key is None else jax.random.fold_in(dropout_key, i + 1)
            x_BTD, _ = block(x_BTD, mask, dropout_key=key)
        return self.unembed(x_BTD)

    def step(self, tokens_BT, cache: KVCache, valid_BT=None):
        """Feed T new tokens per row through the model, reading and extending the cache.

        `valid_BT` marks real tokens (False for left padding of shorter prompts): padding
        takes no position, is never attended to, and does not advance `length_B`.
        """
        B, T = tokens_BT.shape
        valid_BT = jnp.ones((B, T), bool) if valid_BT is None else valid_BT
        pos_BT = cache.length_B[:, None] + jnp.cumsum(valid_BT, axis=1, dtype=jnp.int32) - 1
        pos_BS = jax.lax.dynamic_update_slice_in_dim(
            cache.pos_BS, jnp.where(valid_BT, pos_BT, EMPTY), cache.end, 1)
        mask = Mask(jnp.where(valid_BT, pos_BT, -1), pos_BS)   # padding queries see nothing
        x_BTD = self.embed(tokens_BT, jnp.maximum(pos_BT, 0))
        new_k, new_v = [], []
        for block, k_BKSH, v_BKSH in zip(self.blocks, cache.k, cache.v):
            x_BTD, (k_BKSH, v_BKSH) = block(x_BTD, mask, (k_BKSH, v_BKSH), cache.end)
            new_k.append(k_BKSH)
            new_v.append(v_BKSH)
        cache = KVCache(tuple(new_k), tuple(new_v), pos_BS,
                        cache.length_B + valid_BT.sum(1, dtype=jnp.int32), cache.end + T)
        return self.unembed(x_BTD), cache

    def embed(self, tokens_BT, pos_BT, dropout_key=None):
        x_BTD = self.wte_VD[...][tokens_BT] + self.wpe_TD[...][pos_BT]
        return dropout(x_BTD, self.cfg.dropout, dropout_key)

    # --8<-- [start:unembed]
    def unembed(self, x_BTD):
        x_BTD = self.norm_out(x_BTD)
        if self.lm_head_DV is None:   # tied: score each token by similarity to its embedding
            return dense(x_BTD, self.wte_VD[...].T)
        return dense(x_BTD, self.lm_head_DV[...])
    # --8<-- [end:unembed]
# --8<-- [end:gpt]


def init_model(cfg: Config, seed: int | None = None) -> GPT:
    """A freshly initialised model (seeded by `cfg.seed` unless `seed` is given)."""
    return GPT(cfg, rngs=nnx.Rngs(params=cfg.seed if seed is None else seed))


def count_params(model: nnx.Module) -> int:
    """Number of scalars in the model's parameters."""
    return sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))
