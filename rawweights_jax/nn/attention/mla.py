"""Multi-head latent attention (MLA, DeepSeek-V2 and V3): cache one small latent per token.

Standard attention caches a key and a value per head per token. MLA compresses what a token
offers to a latent c of width C (512 in DeepSeek-V3, against 128 heads x (192 + 128) numbers
for full keys and values) and rebuilds every head's key and value from it with two matrices:

    c = norm(x W_a)             the latent, width C            (cached)
    k_nope = c W_kb, v = c W_vb per head, widths P and H
    k_rope = rope(x W_a')       one rotary key of width R shared by all heads (cached)
    q = [q_nope, rope(q_rope)]  per head, from x (or from a low-rank query latent, width Q)

RoPE cannot live inside the latent (a rotation between c and W_kb would depend on position),
hence the separate, shared rotary key: that is the "decoupled RoPE".

Two equal ways to compute it:
- `expanded` (training, no cache): rebuild keys and values for every head, then ordinary
  attention with N key/value heads;
- `absorbed` (decoding with a cache): fold W_kb into the query, q_nope W_kb^T, so queries meet
  the cached latent directly, and apply W_vb after attention. Every head then reads the same
  key [c, k_rope] (width C + R) and value c: multi-query attention over the latent, the only
  thing in the cache. tests/test_lib_modern.py checks the two agree.
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import nnx

from rawweights_jax.nn.attention.mask import Mask
from rawweights_jax.nn.attention.attend import attend
from rawweights_jax.config import ModelConfig, Runtime
from rawweights_jax.nn.norms import Norm
from rawweights_jax.kvcache.cache import cache_write, read_buffer
from rawweights_jax.kvcache.paged import PageIO, paged_read_write
from rawweights_jax.nn.dense import dense, normal_param
from rawweights_jax.nn.rope import apply_rope


# --8<-- [start:mla]
class LatentAttention(nnx.Module):
    """MLA: queries (optionally through a latent), keys and values rebuilt from a cached latent."""

    def __init__(self, cfg: ModelConfig, runtime: Runtime = Runtime(), *, rngs: nnx.Rngs):
        D, N, C = cfg.d_model, cfg.n_heads, cfg.kv_lora_rank
        P, R, H = cfg.head_dim, cfg.qk_rope_dim, cfg.v_head_dim
        std = cfg.init_std
        if cfg.q_lora_rank:
            self.wq_a_DQ = normal_param(rngs, std, D, cfg.q_lora_rank)
            self.q_norm = Norm(cfg, cfg.q_lora_rank, kind="rmsnorm")
            self.wq_b_QNI = normal_param(rngs, std, cfg.q_lora_rank, N, P + R)
        else:
            self.wq_DNI = normal_param(rngs, std, D, N, P + R)
        self.wkv_a_DX = normal_param(rngs, std, D, C + R)      # latent and shared rotary key
        self.kv_norm = Norm(cfg, C, kind="rmsnorm")
        self.wk_b_CNP = normal_param(rngs, std, C, N, P)
        self.wv_b_CNH = normal_param(rngs, std, C, N, H)
        self.wo_NHD = normal_param(rngs, std / (2 * cfg.n_layers) ** 0.5, N, H, D)
        self.cfg, self.backend = cfg, runtime.attention

    def queries(self, x_BTD, rope):
        """Every head's query, split into its position-free and rotary parts."""
        if self.cfg.q_lora_rank:
            q_BTNI = dense(self.q_norm(dense(x_BTD, self.wq_a_DQ[...])), self.wq_b_QNI[...])
        else:
            q_BTNI = dense(x_BTD, self.wq_DNI[...])
        P = self.cfg.head_dim
        return q_BTNI[..., :P], apply_rope(q_BTNI[..., P:], rope)

    def latent(self, x_BTD, rope):
        """What the cache keeps per token: [norm(c), rope(k_rope)] as one key head, [B, T, 1, C+R]."""
        C = self.cfg.kv_lora_rank
        kv_BTX = dense(x_BTD, self.wkv_a_DX[...])
        k_rope_BT1R = apply_rope(kv_BTX[:, :, None, C:], rope)
        return jnp.concatenate([self.kv_norm(kv_BTX[:, :, None, :C]), k_rope_BT1R], axis=-1)

    def __call__(self, x_BTD, mask: Mask, rope, cache_kv=None, end=None):
        cfg = self.cfg
        C = cfg.kv_lora_rank
        scale = cfg.attn_scale or cfg.qk_head_dim ** -0.5
        q_nope_BTNP, q_rope_BTNR = self.queries(x_BTD, rope)
        latent_BT1X = self.latent(x_BTD, rope)
        if cache_kv is None:      # expanded: every head gets its own key and value
            c_BTC = latent_BT1X[:, :, 0, :C]
            k_rope_BTNR = jnp.broadcast_to(latent_BT1X[:, :, :, C:],
                                           (*q_rope_BTNR.shape[:3], cfg.qk_rope_dim))
            k_BTNI = jnp.concatenate([dense(c_BTC, self.wk_b_CNP[...]), k_rope_BTNR], axis=-1)
            q_BTNI = jnp.concatenate([q_nope_BTNP, q_rope_BTNR], axis=-1)
            out_BTNH = attend(q_BTNI, k_BTNI, dense(c_BTC, self.wv_b_CNH[...]), mask,
                              self.backend, scale)
        else:                     # absorbed: attend over the cached latent itself
            if isinstance(end, PageIO):   # pages reached through a table (kvcache/paged.py)
                kv_BS1X, pool = paged_read_write(cache_kv[0], latent_BT1X, end)
                cache_kv = (pool, cache_kv[1])
            else:
                cache_B1SX = cache_write(cache_kv[0], latent_BT1X, end)
                cache_kv = (cache_B1SX, cache_kv[1])
                kv_BS1X = read_buffer(cache_B1SX).transpose(0, 2, 1, 3)
            q_lat_BTNC = jnp.einsum("btnp,cnp->btnc", q_nope_BTNP, self.wk_b_CNP[...])
            q_BTNX = jnp.concatenate([q_lat_BTNC, q_rope_BTNR], axis=-1)
            out_BTNC = attend(q_BTNX, kv_BS1X, kv_BS1X[..., :C], mask, self.backend, scale)
            out_BTNH = jnp.einsum("btnc,cnh->btnh", out_BTNC, self.wv_b_CNH[...])
        return dense(out_BTNH, self.wo_NHD[...], contract=2), cache_kv
# --8<-- [end:mla]
