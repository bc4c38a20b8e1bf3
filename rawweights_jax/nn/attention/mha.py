"""Multi-head, grouped-query and multi-query self-attention: the module that owns the projections.

Queries, keys and values come from one grouped matrix (one product instead of three), heads
are explicit axes, QK-norm and RoPE apply per head, and the key/value cache is passed in and
returned (kvcache/cache.py). The attention itself is `attend` (nn/attention/attend.py).
"""

from __future__ import annotations

import math

import jax.numpy as jnp
from flax import nnx

from rawweights_jax.config import ModelConfig, Runtime
from rawweights_jax.kvcache.cache import cache_write, read_buffer, ring_write
from rawweights_jax.kvcache.paged import PageIO, paged_read_write
from rawweights_jax.nn.attention.attend import attend
from rawweights_jax.nn.attention.mask import Mask
from rawweights_jax.nn.dense import dense, normal_param, zeros_param
from rawweights_jax.nn.norms import Norm
from rawweights_jax.nn.rope import apply_rope


# --------------------------------------------------------------------------- modules
# --8<-- [start:attention]
class Attention(nnx.Module):
    """Multi-head, grouped-query or multi-query causal self-attention with an optional KV cache."""

    def __init__(self, cfg: ModelConfig, local: bool = False, runtime: Runtime = Runtime(), *,
                 rngs: nnx.Rngs):
        D, N, K, H = cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
        self.local = local                   # sliding-window layer: its cache is a ring
        out_std = cfg.init_std / math.sqrt(2 * cfg.n_layers)   # residual branches start small
        # Queries, keys and values in one matrix, grouped by key/value head: for each of the K
        # groups, its G = N/K query heads, then its key head, then its value head (J = G + 2).
        # One product instead of three is fewer, larger kernels (4% less CPU time per training
        # step here), and a split along K keeps each group whole on one device (parallel/sharding.py).
        self.wqkv_DKJH = normal_param(rngs, cfg.init_std, D, K, N // K + 2, H)
        self.wo_NHD = normal_param(rngs, out_std, N, H, D)
        self.bqkv_KJH = zeros_param(cfg.qkv_bias, K, N // K + 2, H)
        self.bo_D = zeros_param(cfg.bias, D)
        # QK-norm (Qwen3, Gemma 3): every query and key head RMS-normalised before RoPE, which
        # bounds attention logits and tolerates higher learning rates.
        self.q_norm = Norm(cfg, H, kind="rmsnorm") if cfg.qk_norm else None
        self.k_norm = Norm(cfg, H, kind="rmsnorm") if cfg.qk_norm else None
        self.backend, self.scale = runtime.attention, cfg.attn_scale

    def project(self, x_BTD, rope=None):
        """Queries, keys and values of x_BTD: q_BTNH, k_BTKH, v_BTKH (normed and rotated)."""
        qkv_BTKJH = dense(x_BTD, self.wqkv_DKJH[...])
        if self.bqkv_KJH is not None:
            qkv_BTKJH = qkv_BTKJH + self.bqkv_KJH[...]
        B, T, K, J, H = qkv_BTKJH.shape
        # --8<-- [start:qk]
        q_BTNH = qkv_BTKJH[:, :, :, :J - 2].reshape(B, T, K * (J - 2), H)
        k_BTKH, v_BTKH = qkv_BTKJH[:, :, :, J - 2], qkv_BTKJH[:, :, :, J - 1]
        if self.q_norm is not None:
            q_BTNH, k_BTKH = self.q_norm(q_BTNH), self.k_norm(k_BTKH)
        if rope is not None:                 # rotate by position: scores see relative distance
            q_BTNH, k_BTKH = apply_rope(q_BTNH, rope), apply_rope(k_BTKH, rope)
        # --8<-- [end:qk]
        return q_BTNH, k_BTKH, v_BTKH

    def __call__(self, x_BTD, mask: Mask, rope=None, cache_kv=None, end=None):
        q_BTNH, k_BTKH, v_BTKH = self.project(x_BTD, rope)
        if cache_kv is None:                 # training / full recompute: keys are the inputs
            k_BSKH, v_BSKH = k_BTKH, v_BTKH
        elif isinstance(end, PageIO):        # pages reached through a table (kvcache/paged.py)
            (k_BSKH, k_pool), (v_BSKH, v_pool) = (paged_read_write(pool, new_BTKH, end)
                                                  for pool, new_BTKH in zip(cache_kv, (k_BTKH, v_BTKH)))
            cache_kv = k_pool, v_pool
        elif self.local:                     # ring of W slots: old window + new tokens, then write
            k_BSKH, v_BSKH = (jnp.concatenate([read_buffer(c_BKWH).transpose(0, 2, 1, 3), new_BTKH], axis=1)
                              for c_BKWH, new_BTKH in zip(cache_kv, (k_BTKH, v_BTKH)))
            cache_kv = ring_write(cache_kv[0], k_BTKH, end), ring_write(cache_kv[1], v_BTKH, end)
        else:                                # write the T new slots at `end`; shapes stay static
            cache_kv = cache_write(cache_kv[0], k_BTKH, end), cache_write(cache_kv[1], v_BTKH, end)
            k_BSKH, v_BSKH = (read_buffer(c_BKSH).transpose(0, 2, 1, 3) for c_BKSH in cache_kv)
        out_BTNH = attend(q_BTNH, k_BSKH, v_BSKH, mask, self.backend, self.scale)
        out_BTD = dense(out_BTNH, self.wo_NHD[...], contract=2)
        if self.bo_D is not None:
            out_BTD = out_BTD + self.bo_D[...]
        return out_BTD, cache_kv
# --8<-- [end:attention]
