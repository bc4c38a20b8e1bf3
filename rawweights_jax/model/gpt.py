"""The robot student's brain, and today's open-weight models: a decoder-only transformer in Flax NNX.

tokens_BT -> token embeddings (+ positions) -> L x [attention, MLP or mixture of experts]
          -> final norm -> logits_BTV (one score per vocabulary entry: the "voting box").

One class covers GPT-2 and the modern families; the ModelConfig says which parts a model uses:
learned, sinusoidal or rotary positions (nn/rope.py); LayerNorm or RMSNorm, before, after or
around each sub-layer (nn/norms.py); grouped-query attention with optional QK-norm and sliding
windows, or multi-head latent attention (nn/attention/mla.py); a plain or gated MLP, or a mixture of
experts (nn/moe.py).

Shapes ride on names: `x_BTD` is [batch, time, width]; `wo_NHD` maps N heads of width H to
width D. The math lives in small pure functions; the modules only own their parameters and
call those functions.

The key/value cache is an explicit value (`KVCache`), passed in and returned, never hidden in
module state, so a compiled decode loop can carry it like any other array.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from rawweights_jax.config import ModelConfig, Runtime
from rawweights_jax.kvcache.cache import KVCache
from rawweights_jax.kvcache.paged import PagedKVCache
from rawweights_jax.model.block import Block
from rawweights_jax.nn.attention.mask import EMPTY, Mask, causal_mask
from rawweights_jax.nn.dense import dense, dropout, normal_param
from rawweights_jax.nn.norms import Norm
from rawweights_jax.nn.rope import rope_frequencies, rope_table, sinusoidal_embedding


# --8<-- [start:gpt]
class GPT(nnx.Module):
    """The whole model: `model(tokens_BT) -> logits_BTV`; `model.step(...)` decodes with a cache."""

    def __init__(self, cfg: ModelConfig, runtime: Runtime = Runtime(), *, rngs: nnx.Rngs):
        self.cfg = cfg
        self.wte_VD = normal_param(rngs, cfg.init_std, cfg.vocab_size, cfg.d_model)
        self.wpe_TD = (normal_param(rngs, cfg.init_std, cfg.context_len, cfg.d_model)
                       if cfg.position == "learned" else None)
        self.blocks = nnx.List([Block(cfg, i, runtime, rngs=rngs) for i in range(cfg.n_layers)])
        self.norm_out = Norm(cfg) if cfg.norm_placement != "post" else None
        self.lm_head_DV = (None if cfg.tie_embeddings
                           else normal_param(rngs, cfg.init_std, cfg.d_model, cfg.vocab_size))

    def __call__(self, tokens_BT, *, dropout_key=None, dropout_rate: float = 0.0, with_aux: bool = False):
        """Logits for every position; with `with_aux`, also router statistics (`aux` below).
        Dropout (a training choice, not the model's) applies when given a key and a rate."""
        B, T = tokens_BT.shape
        if self.wpe_TD is not None and T > self.cfg.context_len:
            # an index past the table would silently reuse its last row (JAX clamps indices)
            raise ValueError(f"{T} tokens exceed the {self.cfg.context_len} learned positions "
                             "(context_len); feed at most that many")
        mask = causal_mask(B, T)
        x_BTD = self.embed(tokens_BT, mask.q_pos_BT, dropout_key, dropout_rate)
        x_BTD, _, aux = self.run_blocks(x_BTD, {False: mask, True: mask}, None,
                                        {False: None, True: None}, dropout_key, dropout_rate)
        logits_BTV = self.unembed(x_BTD)
        return (logits_BTV, aux) if with_aux else logits_BTV

    def run_blocks(self, x_BTD, masks: dict, cache, writes: dict, dropout_key=None,
                   dropout_rate: float = 0.0):
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
                                     writes[block.local], key, dropout_rate)
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
        takes no position, is never attended to, and does not advance `length_B`. The cache
        is contiguous (`KVCache`) or paged (`PagedKVCache`, read through block tables).
        """
        B, T = tokens_BT.shape
        valid_BT = jnp.ones((B, T), bool) if valid_BT is None else valid_BT
        if isinstance(cache, PagedKVCache):
            return self.step_paged(tokens_BT, cache, valid_BT)
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

    def step_paged(self, tokens_BT, cache: PagedKVCache, valid_BT):
        """`step` through a paged cache: each row is a decode slot with its own length, its
        valid tokens (padding anywhere, or none for an idle slot) take the next positions."""
        plan = cache.plan(valid_BT)
        q_pos_BT = jnp.where(valid_BT, plan.pos_BT, -1)        # padding queries see nothing
        masks = {local: Mask(q_pos_BT, k_pos_BS) for local, k_pos_BS in plan.k_pos.items()}
        x_BTD = self.embed(tokens_BT, jnp.maximum(plan.pos_BT, 0))
        x_BTD, new_kv, _ = self.run_blocks(x_BTD, masks, cache, plan.io)
        cache = cache._replace(k=tuple(kv[0] for kv in new_kv), v=tuple(kv[1] for kv in new_kv),
                               length_B=plan.length_B)
        return self.unembed(x_BTD), cache

    # --8<-- [start:embed]
    def embed(self, tokens_BT, pos_BT, dropout_key=None, dropout_rate: float = 0.0):
        x_BTD = self.wte_VD[...][tokens_BT]
        if self.cfg.embed_scale:       # Gemma: embeddings enter at the residual stream's scale
            x_BTD = x_BTD * jnp.asarray(math.sqrt(self.cfg.d_model), x_BTD.dtype)
        if self.wpe_TD is not None:
            x_BTD = x_BTD + self.wpe_TD[...][pos_BT]
        elif self.cfg.position == "sinusoidal":
            x_BTD = x_BTD + sinusoidal_embedding(pos_BT, self.cfg.d_model).astype(x_BTD.dtype)
        return dropout(x_BTD, dropout_rate, dropout_key)
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


def init_model(cfg: ModelConfig, seed: int = 0, runtime: Runtime = Runtime()) -> GPT:
    """A freshly initialised model: weights drawn from `seed`, computed by `runtime`'s kernels."""
    return GPT(cfg, runtime, rngs=nnx.Rngs(params=seed))


def count_params(model: nnx.Module) -> int:
    """Number of scalars in the model's parameters."""
    return sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))
