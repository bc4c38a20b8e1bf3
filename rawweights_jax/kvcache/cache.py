"""The key/value cache: an explicit pytree of fixed-size buffers, passed in and returned.

A decode step feeds one new token per row; its query must meet the keys and values of every
earlier token. Recomputing them costs a whole forward pass per token, so they are kept here,
one buffer per layer, written in place at slot `end` (static shapes: one compiled step serves
every position). Sliding-window layers keep a ring of W slots instead of the whole context.
The model reads and extends a cache in `GPT.step` (model/gpt.py); nothing here knows the model.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from rawweights_jax.config import ModelConfig

EMPTY = int(jnp.iinfo(jnp.int32).max)
"""Position stored in an empty (or padding) slot: in every query's future, so never attended to
(nn/attention/mask.py hides a key whose position is past the query's)."""


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
    key, [B, 1, S, C + R], and its `v` is empty: values are read from the latent (nn/attention/mla.py).

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
    def empty(cls, cfg: ModelConfig, batch: int, slots: int, dtype=jnp.float32) -> KVCache:
        (K, Hk), (Kv, Hv) = cache_widths(cfg)
        W = ring_slots(cfg, slots)
        size = lambda kind: W if kind == "local" else slots
        ks = tuple(jnp.zeros((batch, K, size(kind), Hk), dtype) for kind in cfg.layer_kinds)
        vs = tuple(jnp.zeros((batch, Kv, size(kind), Hv), dtype) for kind in cfg.layer_kinds)
        return cls(ks, vs, jnp.full((batch, slots), EMPTY, jnp.int32),
                   jnp.full((batch, W), EMPTY, jnp.int32),
                   jnp.zeros((batch,), jnp.int32), jnp.zeros((), jnp.int32))
# --8<-- [end:kvcache]

    def rollback(self, n) -> KVCache:
        """Forget the last `n` tokens written (a traced int32 is fine): their slots get the EMPTY
        position, so no query attends to them, and the next write lands where they were.

        Speculative decoding (inference/speculative.py) feeds drafted tokens and takes back the
        rejected ones. A sliding-window layer's ring has overwritten its oldest slots by then,
        so a cache with ring slots cannot roll back. One row: `n` applies to every row alike.
        """
        if self.ring_pos_BW.shape[1]:
            raise ValueError("cannot roll back a cache with sliding-window (ring) layers: the "
                             "tokens the ring overwrote are gone")
        end = self.end - n
        slot_S = jnp.arange(self.pos_BS.shape[1])
        forget_S = (slot_S >= end) & (slot_S < self.end)
        return self._replace(pos_BS=jnp.where(forget_S[None], EMPTY, self.pos_BS),
                             length_B=self.length_B - n, end=end)


def ring_slots(cfg: ModelConfig, slots: int) -> int:
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


def cache_widths(cfg: ModelConfig) -> tuple[tuple[int, int], tuple[int, int]]:
    """(heads, width) of one layer's key buffer and of its value buffer."""
    if cfg.mla:
        return (1, cfg.kv_lora_rank + cfg.qk_rope_dim), (1, 0)
    return (cfg.n_kv_heads, cfg.head_dim), (cfg.n_kv_heads, cfg.v_head_dim)




def cache_write(buf_BKSH, new_BTKH, end):
    """Write T new entries into a head-major cache buffer at slot `end` (shapes stay static)."""
    return jax.lax.dynamic_update_slice_in_dim(
        buf_BKSH, new_BTKH.transpose(0, 2, 1, 3).astype(buf_BKSH.dtype), end, axis=2)
