"""The robot student's brain, and today's open-weight models: a decoder-only transformer in Flax NNX.

tokens_BT -> token embeddings (+ positions) -> L x [attention, MLP or mixture of experts]
          -> final norm -> logits_BTV (one score per vocabulary entry: the "voting box").

One class covers GPT-2 and the modern families; the Config says which parts a model uses:
learned, sinusoidal or rotary positions (rope.py); LayerNorm or RMSNorm, before, after or
around each sub-layer (layers.py); grouped-query attention with optional QK-norm and sliding
windows, or multi-head latent attention (mla.py); a plain or gated MLP, or a mixture of
experts (moe.py).

Shapes ride on names: `x_BTD` is [batch, time, width]; `wo_NHD` maps N heads of width H to
width D. The math lives in small pure functions; the modules only own their parameters and
call those functions.

The key/value cache is an explicit value (`KVCache`), passed in and returned, never hidden in
module state, so a compiled decode loop can carry it like any other array.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from rawweights_jax.attention import EMPTY, Mask, attend, causal_mask
from rawweights_jax.config import Config
from rawweights_jax.layers import (MLP, Norm, cache_write, dense, dropout, normal_param, zeros_param)
from rawweights_jax.mla import LatentAttention
from rawweights_jax.moe import MoE
from rawweights_jax.rope import apply_rope, rope_frequencies, rope_table, sinusoidal_embedding


# --------------------------------------------------------------------------- the KV cache
# --8<-- [start:kvcache]
class KVCache(NamedTuple):
    """Keys and values of every layer for the tokens seen so far, in fixed-size buffers.

    One buffer per layer (a tuple), so a decode step writes its new slot in place instead of
    copying a stacked [L, ...] array. Buffers are head-major, [B, K, S, H]: a decode step reads
    each head's keys as one contiguous block (with [B, S, K, H], XLA transposed the whole
    cache on every step, 15x slower here). Slots [0, end) are written. `pos_BS` is the position of
    the token in each slot, EMPTY for unwritten or padding slots, so the attention mask hides
    them without a special case (a sliding-window layer's mask also hides slots older than its
    window). `length_B` counts the real (non-padding) tokens of each row: the position the next
    token will take. Under multi-head latent attention a layer's `k` holds the latent and rotary
    key, [B, 1, S, C + R], and its `v` is empty: values are read from the latent (mla.py).

    A sliding-window ('local') layer never looks further back than its window W, so it keeps
    only W slots, used as a ring: the token at position p lives in slot p mod W, overwriting
    the one W positions before it. `ring_pos_BW` holds the positions in those slots. However
    long the text grows, a local layer's cache stays W tokens long (Mistral, Gemma 3).
    """

    k: tuple[jax.Array, ...]   # per layer: k_BKSH (local layers: k_BKWH)
    v: tuple[jax.Array, ...]   # per layer: v_BKSH (local layers: v_BKWH)
    pos_BS: jax.Array          # int32
    ring_pos_BW: jax.Array     # int32: positions in the local layers' ring slots
    length_B: jax.Array        # int32
    end: jax.Array             # int32 scalar: next slot to write

    @classmethod
    def empty(cls, cfg: Config, batch: int, slots: int, dtype=jnp.float32) -> KVCache:
        (K, Hk), (Kv, Hv) = cache_widths(cfg)
        W = ring_slots(cfg, slots)
        size = lambda kind: W if kind == "local" else slots
        ks = tuple(jnp.zeros((batch, K, size(kind), Hk), dtype) for kind in cfg.layer_kinds)
        vs = tuple(jnp.zeros((batch, Kv, size(kind), Hv), dtype) for kind in cfg.layer_kinds)
        return cls(ks, vs, jnp.full((batch, slots), EMPTY, jnp.int32),
                   jnp.full((batch, W), EMPTY, jnp.int32),
                   jnp.zeros((batch,), jnp.int32), jnp.zeros((), jnp.int32))
# --8<-- [end:kvcache]


def ring_slots(cfg: Config, slots: int) -> int:
    """Slots of a local layer's ring: its window (0 without local layers), at most `slots`."""
    return min(cfg.sliding_window, slots) if "local" in cfg.layer_kinds else 0


def ring_write(buf_BKWH, new_BTKH, slot_BT):
    """Write each new token into its ring slot; a slot index >= W (padding, or a token already
    pushed out of the window by a later one in the same chunk) writes nothing."""
    B, T, K, _ = new_BTKH.shape
    b_BKT = jnp.arange(B)[:, None, None]
    k_BKT = jnp.arange(K)[None, :, None]
    return buf_BKWH.at[b_BKT, k_BKT, slot_BT[:, None, :]].set(
        new_BTKH.transpose(0, 2, 1, 3).astype(buf_BKWH.dtype), mode="drop")


def cache_widths(cfg: Config) -> tuple[tuple[int, int], tuple[int, int]]:
    """(heads, width) of one layer's key buffer and of its value buffer."""
    if cfg.mla:
        return (1, cfg.kv_lora_rank + cfg.qk_rope_dim), (1, 0)
    return (cfg.n_kv_heads, cfg.head_dim), (cfg.n_kv_heads, cfg.v_head_dim)


# --------------------------------------------------------------------------- modules
# --8<-- [start:attention]
class Attention(nnx.Module):
    """Multi-head, grouped-query or multi-query causal self-attention with an optional KV cache."""

    def __init__(self, cfg: Config, local: bool = False, *, rngs: nnx.Rngs):
        D, N, K, H = cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim
        self.local = local                   # sliding-window layer: its cache is a ring
        out_std = cfg.init_std / math.sqrt(2 * cfg.n_layers)   # residual branches start small
        # Queries, keys and values in one matrix, grouped by key/value head: for each of the K
        # groups, its G = N/K query heads, then its key head, then its value head (J = G + 2).
        # One product instead of three is fewer, larger kernels (4% less CPU time per training
        # step here), and a split along K keeps each group whole on one device (parallel.py).
        self.wqkv_DKJH = normal_param(rngs, cfg.init_std, D, K, N // K + 2, H)
        self.wo_NHD = normal_param(rngs, out_std, N, H, D)
        self.bqkv_KJH = zeros_param(cfg.qkv_bias, K, N // K + 2, H)
        self.bo_D = zeros_param(cfg.bias, D)
        # QK-norm (Qwen3, Gemma 3): every query and key head RMS-normalised before RoPE, which
        # bounds attention logits and tolerates higher learning rates.
        self.q_norm = Norm(cfg, H, kind="rmsnorm") if cfg.qk_norm else None
        self.k_norm = Norm(cfg, H, kind="rmsnorm") if cfg.qk_norm else None
        self.backend, self.scale = cfg.attention, cfg.attn_scale

    def __call__(self, x_BTD, mask: Mask, rope=None, cache_kv=None, end=None):
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
        if cache_kv is None:                 # training / full recompute: keys are the inputs
            k_BSKH, v_BSKH = k_BTKH, v_BTKH
        elif self.local:                     # ring of W slots: old window + new tokens, then write
            k_BSKH, v_BSKH = (jnp.concatenate([c_BKWH.transpose(0, 2, 1, 3), new_BTKH], axis=1)
                              for c_BKWH, new_BTKH in zip(cache_kv, (k_BTKH, v_BTKH)))
            cache_kv = ring_write(cache_kv[0], k_BTKH, end), ring_write(cache_kv[1], v_BTKH, end)
        else:                                # write the T new slots at `end`; shapes stay static
            cache_kv = cache_write(cache_kv[0], k_BTKH, end), cache_write(cache_kv[1], v_BTKH, end)
            k_BSKH, v_BSKH = (c_BKSH.transpose(0, 2, 1, 3) for c_BKSH in cache_kv)
        out_BTNH = attend(q_BTNH, k_BSKH, v_BSKH, mask, self.backend, self.scale)
        out_BTD = dense(out_BTNH, self.wo_NHD[...], contract=2)
        if self.bo_D is not None:
            out_BTD = out_BTD + self.bo_D[...]
        return out_BTD, cache_kv
# --8<-- [end:attention]


# --8<-- [start:block]
class Block(nnx.Module):
    """One layer: attention, then an MLP (or experts), each a residual branch with its norms.

    pre-norm (GPT-2 onward): x + f(norm(x)); post-norm (2017): norm(x + f(x));
    sandwich (Gemma): x + norm(f(norm(x))).
    """

    def __init__(self, cfg: Config, layer: int, *, rngs: nnx.Rngs):
        self.placement, self.dropout = cfg.norm_placement, cfg.dropout
        self.local = cfg.layer_kinds[layer] == "local"
        self.window = cfg.sliding_window if self.local else None
        self.norm_attn, self.norm_mlp = Norm(cfg), Norm(cfg)
        self.post_attn = Norm(cfg) if self.placement == "sandwich" else None
        self.post_mlp = Norm(cfg) if self.placement == "sandwich" else None
        self.attn = (LatentAttention(cfg, rngs=rngs) if cfg.mla
                     else Attention(cfg, self.local, rngs=rngs))
        self.mlp = MoE(cfg, rngs=rngs) if cfg.is_moe_layer(layer) else MLP(cfg, rngs=rngs)

    def __call__(self, x_BTD, mask: Mask, rope=None, cache_kv=None, end=None, dropout_key=None):
        keys = (None, None) if dropout_key is None else jax.random.split(dropout_key)
        if self.window is not None:
            mask = dataclasses.replace(mask, window=self.window)
        attn = lambda h_BTD: self.attn(h_BTD, mask, rope, cache_kv, end)
        x_BTD, cache_kv = self.residual(x_BTD, attn, self.norm_attn, self.post_attn, keys[0])
        x_BTD, stats = self.residual(x_BTD, self.mlp, self.norm_mlp, self.post_mlp, keys[1])
        return x_BTD, cache_kv, stats

    def residual(self, x_BTD, sublayer, norm, post_norm, key):
        """Apply one sub-layer as a residual branch; returns (new x, the sub-layer's extra output)."""
        h_BTD = x_BTD if self.placement == "post" else norm(x_BTD)
        out = sublayer(h_BTD)
        h_BTD, extra = out if isinstance(out, tuple) else (out, None)
        if post_norm is not None:
            h_BTD = post_norm(h_BTD)
        x_BTD = x_BTD + dropout(h_BTD, self.dropout, key)
        return (norm(x_BTD) if self.placement == "post" else x_BTD), extra
# --8<-- [end:block]


# --8<-- [start:gpt]
class GPT(nnx.Module):
    """The whole model: `model(tokens_BT) -> logits_BTV`; `model.step(...)` decodes with a cache."""

    def __init__(self, cfg: Config, *, rngs: nnx.Rngs):
        self.cfg = cfg
        self.wte_VD = normal_param(rngs, cfg.init_std, cfg.vocab_size, cfg.d_model)
        self.wpe_TD = (normal_param(rngs, cfg.init_std, cfg.context_len, cfg.d_model)
                       if cfg.position == "learned" else None)
        self.blocks = nnx.List([Block(cfg, i, rngs=rngs) for i in range(cfg.n_layers)])
        self.norm_out = Norm(cfg) if cfg.norm_placement != "post" else None
        self.lm_head_DV = (None if cfg.tie_embeddings
                           else normal_param(rngs, cfg.init_std, cfg.d_model, cfg.vocab_size))

    def __call__(self, tokens_BT, *, dropout_key=None, with_aux: bool = False):
        """Logits for every position; with `with_aux`, also router statistics (`aux` below)."""
        B, T = tokens_BT.shape
        if self.wpe_TD is not None and T > self.cfg.context_len:
            # an index past the table would silently reuse its last row (JAX clamps indices)
            raise ValueError(f"{T} tokens exceed the {self.cfg.context_len} learned positions "
                             "(context_len); feed at most that many")
        mask = causal_mask(B, T)
        x_BTD = self.embed(tokens_BT, mask.q_pos_BT, dropout_key)
        x_BTD, _, aux = self.run_blocks(x_BTD, {False: mask, True: mask}, None,
                                        {False: None, True: None}, dropout_key)
        logits_BTV = self.unembed(x_BTD)
        return (logits_BTV, aux) if with_aux else logits_BTV

    def run_blocks(self, x_BTD, masks: dict, cache, writes: dict, dropout_key=None):
        """Every layer in turn. `masks` and `writes` (where new cache entries go) are keyed by
        whether a layer is local. Returns x, the new per-layer caches, and router statistics:
        `aux_loss` (mean load-balancing loss of the MoE layers) and `load_LE` (tokens per expert)."""
        pos_BT = jnp.maximum(masks[False].q_pos_BT, 0)   # padding queries (-1) rotate as 0
        ropes = {local: self.rope(pos_BT, local) for local in {b.local for b in self.blocks}}
        new_kv, loads, losses = [], [], []
        for i, block in enumerate(self.blocks):
            key = None if dropout_key is None else jax.random.fold_in(dropout_key, i + 1)
            kv = None if cache is None else (cache.k[i], cache.v[i])
            x_BTD, kv, stats = block(x_BTD, masks[block.local], ropes[block.local], kv,
                                     writes[block.local], key)
            new_kv.append(kv)
            if stats is not None:
                loads.append(stats["load_E"])
                losses.append(stats["aux_loss"])
        aux = {"aux_loss": jnp.mean(jnp.stack(losses)) if losses else jnp.zeros(()),
               "load_LE": jnp.stack(loads) if loads else jnp.zeros((0, 0), jnp.int32)}
        return x_BTD, new_kv, aux

    def rope(self, pos_BT, local: bool):
        """cos/sin tables for global or local layers (None without rotary positions)."""
        if self.cfg.position != "rope":
            return None
        return rope_table(pos_BT, *rope_frequencies(self.cfg, local))

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
        q_pos_BT = jnp.where(valid_BT, pos_BT, -1)            # padding queries see nothing
        new_pos_BT = jnp.where(valid_BT, pos_BT, EMPTY)
        # Local layers see their ring (before this chunk) followed by the chunk itself.
        masks = {False: Mask(q_pos_BT, pos_BS),
                 True: Mask(q_pos_BT, jnp.concatenate([cache.ring_pos_BW, new_pos_BT], axis=1))}
        length_B = cache.length_B + valid_BT.sum(1, dtype=jnp.int32)
        W = cache.ring_pos_BW.shape[1]
        if W:   # slot p mod W; only the last W tokens of the chunk are kept
            kept_BT = valid_BT & (pos_BT >= length_B[:, None] - W)
            slot_BT = jnp.where(kept_BT, pos_BT % W, W)
            ring_pos_BW = cache.ring_pos_BW.at[jnp.arange(B)[:, None], slot_BT].set(
                new_pos_BT, mode="drop")
        else:
            slot_BT, ring_pos_BW = None, cache.ring_pos_BW
        x_BTD = self.embed(tokens_BT, jnp.maximum(pos_BT, 0))
        x_BTD, new_kv, _ = self.run_blocks(x_BTD, masks, cache, {False: cache.end, True: slot_BT})
        cache = KVCache(tuple(kv[0] for kv in new_kv), tuple(kv[1] for kv in new_kv), pos_BS,
                        ring_pos_BW, length_B, cache.end + T)
        return self.unembed(x_BTD), cache

    # --8<-- [start:embed]
    def embed(self, tokens_BT, pos_BT, dropout_key=None):
        x_BTD = self.wte_VD[...][tokens_BT]
        if self.cfg.embed_scale:       # Gemma: embeddings enter at the residual stream's scale
            x_BTD = x_BTD * jnp.asarray(math.sqrt(self.cfg.d_model), x_BTD.dtype)
        if self.wpe_TD is not None:
            x_BTD = x_BTD + self.wpe_TD[...][pos_BT]
        elif self.cfg.position == "sinusoidal":
            x_BTD = x_BTD + sinusoidal_embedding(pos_BT, self.cfg.d_model).astype(x_BTD.dtype)
        return dropout(x_BTD, self.cfg.dropout, dropout_key)
    # --8<-- [end:embed]

    # --8<-- [start:unembed]
    def unembed(self, x_BTD):
        if self.norm_out is not None:
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
