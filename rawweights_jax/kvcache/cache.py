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
    def empty(cls, cfg: ModelConfig, batch: int, slots: int, dtype=jnp.float32,
              kv_bits: int | None = None) -> KVCache:
        """An empty cache; `kv_bits=8` keeps keys and values in int8 (Int8KV) with `dtype` scales."""
        if kv_bits not in (None, 8):
            raise ValueError(f"kv_bits={kv_bits!r}: the cache is kept in the model's float type "
                             "(None) or in int8 (8)")
        (K, Hk), (Kv, Hv) = cache_widths(cfg)
        W = ring_slots(cfg, slots)
        size = lambda kind: W if kind == "local" else slots

        def buffer(shape):
            if kv_bits is None or not shape[-1]:           # (MLA's empty value buffer stays)
                return jnp.zeros(shape, dtype)
            return Int8KV(jnp.zeros(shape, jnp.int8), jnp.ones(shape[:-1] + (1,), dtype))

        ks = tuple(buffer((batch, K, size(kind), Hk)) for kind in cfg.layer_kinds)
        vs = tuple(buffer((batch, Kv, size(kind), Hv)) for kind in cfg.layer_kinds)
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
    put = lambda buf, new_BKTH: buf.at[b_BKT, k_BKT, slot_BT[:, None, :]].set(
        new_BKTH.astype(buf.dtype), mode="drop")
    return _write(put, buf_BKWH, new_BTKH.transpose(0, 2, 1, 3))


def cache_widths(cfg: ModelConfig) -> tuple[tuple[int, int], tuple[int, int]]:
    """(heads, width) of one layer's key buffer and of its value buffer."""
    if cfg.mla:
        return (1, cfg.kv_lora_rank + cfg.qk_rope_dim), (1, 0)
    return (cfg.n_kv_heads, cfg.head_dim), (cfg.n_kv_heads, cfg.v_head_dim)




def cache_write(buf_BKSH, new_BTKH, end):
    """Write T new entries into a head-major cache buffer at slot `end` (shapes stay static)."""
    put = lambda buf, new_BKTH: jax.lax.dynamic_update_slice_in_dim(
        buf, new_BKTH.astype(buf.dtype), end, axis=2)
    return _write(put, buf_BKSH, new_BTKH.transpose(0, 2, 1, 3))


# --------------------------------------------------------------------------- int8 entries
# --8<-- [start:int8]
class Int8KV(NamedTuple):
    """One layer's keys (or values) in int8, with one scale per token and head: the largest
    magnitude of the entry's H numbers maps to 127. Per token, because a new token's keys are
    written once and never revisited; per head, because heads differ in scale."""

    q_BKSH: jax.Array          # int8
    scale_BKS1: jax.Array      # the model's float type


def quantize_entries(new_BKTH) -> Int8KV:
    scale_BKT1 = jnp.max(jnp.abs(new_BKTH), axis=-1, keepdims=True) / 127
    scale_BKT1 = jnp.where(scale_BKT1 > 0, scale_BKT1, 1)
    q_BKTH = jnp.clip(jnp.round(new_BKTH / scale_BKT1), -127, 127).astype(jnp.int8)
    return Int8KV(q_BKTH, scale_BKT1)


def read_buffer(buf_BKSH):
    """A layer's cache buffer as numbers: int8 entries times their scales, or the buffer itself."""
    if isinstance(buf_BKSH, Int8KV):
        return buf_BKSH.q_BKSH.astype(buf_BKSH.scale_BKS1.dtype) * buf_BKSH.scale_BKS1
    return buf_BKSH
# --8<-- [end:int8]


def _write(put, buf, new_BKTH):
    """`put(buffer, entries)` into a plain buffer, or into both arrays of an int8 one."""
    if isinstance(buf, Int8KV):
        entries = quantize_entries(new_BKTH.astype(buf.scale_BKS1.dtype))
        return Int8KV(put(buf.q_BKSH, entries.q_BKSH), put(buf.scale_BKS1, entries.scale_BKS1))
    return put(buf, new_BKTH)
