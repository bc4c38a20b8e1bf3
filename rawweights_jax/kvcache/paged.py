"""The paged key/value cache: a pool of fixed-size pages per layer and a block table per sequence.

The contiguous cache (cache.py) gives every row the same number of slots, so a server that
holds a 10-token request next to a 2000-token one reserves 2000 slots for both. Here memory is
reserved a page at a time. Each layer owns a pool of pages, [pages, page_size, K, H] for its
keys and the same for its values (under MLA the keys hold the latent and rotary key and the
values are empty, as in cache.py). A sequence occupies a *decode slot* (a row of the batch); its
block table row lists, in order, the pages that hold its positions: position p lives at offset
p mod page_size of page table[slot, p // page_size]. A page id names the same page in every
layer's pool (of its kind, below), so one table serves all layers.

Everything has a fixed shape: the pools, the block table [slots, max_pages] (max_pages x
page_size is the longest sequence a slot can hold) and the lengths. So one compiled step
serves every mix of requests; requests join and leave between steps. Which pages a slot holds
is decided on the host (pages.py: a free list, numpy tables) and handed to the device with the
cache; the device only reads and writes through the table. An entry without a page holds
NO_PAGE: reading it gives zeros (hidden by the mask anyway), writing to it writes nothing.

A step writes, then reads. This step's new keys are scattered into their pages first; attention
then sees a layer's keys as the slot's pages gathered in table order into a contiguous view,
which now holds them too. (Reading the old pages and writing in the same step makes XLA copy
every pool to keep the old one alive: see paged_read_write.) The gather copies
max_pages x page_size keys per row each step, which is what the contiguous cache reads anyway;
a fused kernel that reads the pages in place (vLLM's PagedAttention) would skip the copy, but on
a CPU the gather is cheap and keeps every attention backend unchanged. The masks come from
positions, as everywhere: the view's entry i holds position i when i < length, else EMPTY.

Sliding-window ('local') layers keep a ring, as in the contiguous cache, but a ring of pages:
each slot owns up to ring_pages = ceil(W / page_size) pages of a separate local pool, listed in
a second table [slots, ring_pages], and position p lives at ring entry p mod (ring_pages x
page_size). A local layer's memory per slot is then bounded by its window whatever the length,
and its reads are ring_pages pages, not max_pages. A chunk longer than one token reads its
ring before writing (the chunk could overwrite keys its own first queries need). The positions
in the ring need no array of their own: a slot's positions are 0..length-1 without gaps
(padding takes no position), so ring entry j holds the latest position p < length with
p = j mod ring size.

The host side (pages.py) decides which pages a slot holds, and lets equal prompt prefixes share
their full pages in models without sliding-window layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp

from rawweights_jax.config import ModelConfig
from rawweights_jax.kvcache.cache import EMPTY, cache_widths

NO_PAGE = EMPTY
"""Block table entry of a page not allocated: past every pool's end, so a read gives zeros
(`mode='fill'`) and a write is dropped (`mode='drop'`)."""


@dataclass(frozen=True)
class PageLayout:
    """The fixed shapes of a paged cache: what gets compiled, chosen once per server."""

    slots: int
    """Decode slots: sequences decoded together (rows of every step)."""
    page_size: int
    """Tokens per page."""
    pages: int
    """Pages in each global layer's pool (shared by all slots)."""
    max_pages: int
    """Block table width: a slot holds at most max_pages x page_size tokens."""
    ring_pages: int = 0
    """Pages of one slot's ring in the local layers (0 without sliding-window layers)."""
    ring_pool: int = 0
    """Pages in each local layer's pool."""

    def __post_init__(self):
        for name in ("slots", "page_size", "pages", "max_pages"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"PageLayout {name}={value!r} is invalid: expected an integer >= 1")
        if self.ring_pages and self.ring_pool < self.ring_pages:
            raise ValueError(f"PageLayout ring_pool={self.ring_pool} cannot hold one slot's ring of "
                             f"{self.ring_pages} pages")

    @classmethod
    def for_model(cls, cfg: ModelConfig, slots: int, page_size: int, pages: int, max_len: int,
                  ring_pool: int | None = None) -> PageLayout:
        """The layout for `cfg`: room for `max_len` tokens per slot, `pages` pages in the global
        pool; local layers get rings of ceil(window / page_size) pages and, by default, a pool
        with every slot's ring (a ring is small and bounded: the window, not the length)."""
        if not (isinstance(page_size, int) and page_size >= 1):
            raise ValueError(f"page_size={page_size!r} is invalid: expected an integer >= 1")
        max_pages = ceil_pages(max_len, page_size)
        ring = min(ceil_pages(cfg.sliding_window, page_size), max_pages) if "local" in cfg.layer_kinds else 0
        return cls(slots, page_size, pages, max_pages, ring,
                   slots * ring if ring_pool is None else ring_pool)


class PageIO(NamedTuple):
    """Where one step reads and writes in one kind of layer (global or local)."""

    read: jax.Array        # int32 [slots, pages read]: the block table, or the ring table
    page_BT: jax.Array     # int32: the page each new token goes to; NO_PAGE: nowhere
    offset_BT: jax.Array   # int32: its offset within that page
    write_first: bool = False
    """Write the new entries, then read the pages (the view then holds them: no concatenation),
    rather than read the old entries and append the new ones. Exact wherever no new entry
    overwrites one that a query of the same step still needs (paged_read_write)."""


class PagedStep(NamedTuple):
    """Positions and page addresses of one step, for the model (GPT.step)."""

    pos_BT: jax.Array      # int32: the position each new token takes
    k_pos: dict            # local? -> int32 [B, S]: positions of the keys attention sees
    io: dict               # local? -> PageIO
    length_B: jax.Array    # int32: lengths after the step


# --8<-- [start:paged]
class PagedKVCache(NamedTuple):
    """Keys and values in pages, reached through a block table per decode slot (row)."""

    k: tuple[jax.Array, ...]   # per layer: a pool [pages, page_size, K, H]
    v: tuple[jax.Array, ...]   # per layer: a pool [pages, page_size, K, H]
    block_table: jax.Array     # int32 [slots, max_pages]: a slot's pages in position order
    ring_table: jax.Array      # int32 [slots, ring_pages]: its ring pages in local layers
    length_B: jax.Array        # int32 [slots]: tokens stored; the next token's position

    @classmethod
    def empty(cls, cfg: ModelConfig, layout: PageLayout, dtype=jnp.float32) -> PagedKVCache:
        (K, Hk), (Kv, Hv) = cache_widths(cfg)
        pages = lambda kind: layout.ring_pool if kind == "local" else layout.pages
        shape = lambda kind, heads, width: (pages(kind), layout.page_size, heads, width)
        return cls(tuple(jnp.zeros(shape(kind, K, Hk), dtype) for kind in cfg.layer_kinds),
                   tuple(jnp.zeros(shape(kind, Kv, Hv), dtype) for kind in cfg.layer_kinds),
                   jnp.full((layout.slots, layout.max_pages), NO_PAGE, jnp.int32),
                   jnp.full((layout.slots, layout.ring_pages), NO_PAGE, jnp.int32),
                   jnp.zeros((layout.slots,), jnp.int32))
# --8<-- [end:paged]

    @property
    def page_size(self) -> int:
        return self.k[0].shape[1]

    def plan(self, valid_BT) -> PagedStep:
        """Where the tokens of one step go: a row's valid tokens take the positions after its
        length, in order; the others (padding, or a slot with nothing to feed) take none."""
        B, T = valid_BT.shape
        size = self.page_size
        pos_BT = self.length_B[:, None] + jnp.cumsum(valid_BT, axis=1, dtype=jnp.int32) - 1
        length_B = self.length_B + valid_BT.sum(1, dtype=jnp.int32)
        new_pos_BT = jnp.where(valid_BT, pos_BT, EMPTY)
        b_BT = jnp.arange(B)[:, None]
        # Global layers: written first; entry i of a slot's view is then position i, if written.
        M = self.block_table.shape[1]
        i_S = jnp.arange(M * size, dtype=jnp.int32)
        logical_BT = pos_BT // size
        page_BT = jnp.where(valid_BT & (logical_BT < M),
                            self.block_table[b_BT, jnp.clip(logical_BT, 0, M - 1)], NO_PAGE)
        io = {False: PageIO(self.block_table, page_BT, pos_BT % size, write_first=True)}
        k_pos = {False: jnp.where(i_S[None] < length_B[:, None], i_S[None], EMPTY)}
        # Local layers: a ring of R pages; only a chunk's last R x page_size tokens are kept. A
        # step of one token per row writes first (it evicts a position its query no longer
        # sees); a longer chunk could evict keys its own first queries need, so it reads the
        # ring as it was and appends the chunk.
        R = self.ring_table.shape[1]
        if R:
            ring = R * size
            first = T == 1
            j_S = jnp.arange(ring, dtype=jnp.int32)
            last_B1 = (length_B if first else self.length_B)[:, None] - 1
            ring_pos_BS = jnp.where(j_S[None] <= last_B1, last_B1 - (last_B1 - j_S[None]) % ring, EMPTY)
            kept_BT = valid_BT & (pos_BT >= length_B[:, None] - ring)
            ring_page_BT = jnp.where(kept_BT, self.ring_table[b_BT, (pos_BT % ring) // size], NO_PAGE)
            io[True] = PageIO(self.ring_table, ring_page_BT, pos_BT % size, write_first=first)
            k_pos[True] = ring_pos_BS if first else jnp.concatenate([ring_pos_BS, new_pos_BT], axis=1)
        else:
            io[True], k_pos[True] = io[False], k_pos[False]
        return PagedStep(pos_BT, k_pos, io, length_B)


# --8<-- [start:read_write]
def paged_read_write(pool, new_BTKH, io: PageIO):
    """One layer's keys (or values) as attention sees them, and the pool with this step's new
    entries written into their pages. With `io.write_first` the view is the slot's pages
    gathered in table order after the write; otherwise the pages as they were, followed by the
    new entries. Returns (k_BSKH, pool).

    Writing first is also what keeps the step cheap: the pool is updated in place, and the
    gather reads the updated pool. Reading the old pool and writing a new one in the same step
    makes XLA copy the whole pool (every layer's, every step) to keep the old one alive for the
    read: 3.5x slower at 8 slots of the shakespeare-char model on a CPU."""
    B, n_read = io.read.shape
    new_BTKH = new_BTKH.astype(pool.dtype)
    gather = lambda pool: jnp.take(pool, io.read, axis=0, mode="fill", fill_value=0).reshape(
        B, n_read * pool.shape[1], *pool.shape[2:])
    write = lambda pool: pool.at[io.page_BT, io.offset_BT].set(new_BTKH, mode="drop")
    if io.write_first:
        pool = write(pool)
        return gather(pool), pool
    return jnp.concatenate([gather(pool), new_BTKH], axis=1), write(pool)
# --8<-- [end:read_write]


def page_bytes(cfg: ModelConfig, page_size: int, dtype=jnp.float32) -> dict[bool, int]:
    """Bytes of one page id across all layers of a kind (local? -> bytes): a page id names a
    page in every layer's pool of that kind, keys and values."""
    (K, Hk), (Kv, Hv) = cache_widths(cfg)
    per_layer = page_size * (K * Hk + Kv * Hv) * jnp.dtype(dtype).itemsize
    return {local: per_layer * sum((kind == "local") == local for kind in cfg.layer_kinds)
            for local in (False, True)}


def ceil_pages(tokens: int, page_size: int) -> int:
    """Pages that hold `tokens` tokens."""
    return math.ceil(tokens / page_size)


def read_width(pages: int, max_pages: int) -> int:
    """Block table columns a step reads when its longest row holds `pages` pages: the next
    power of two, at least MIN_READ_PAGES, at most max_pages. A step only needs the columns its
    rows reach (plan() looks pages up in the table it is given), so a server compiles a few
    widths and a batch of short sequences gathers less than the whole context."""
    return min(max_pages, max(MIN_READ_PAGES, 1 << max(pages - 1, 0).bit_length()))


def batch_rows(busy: int, slots: int) -> int:
    """Rows a step runs when `busy` slots (packed first) are in use: the next power of two, at
    most `slots`, so a lone request does not pay for a full batch."""
    return min(slots, 1 << max(busy - 1, 0).bit_length())


MIN_READ_PAGES = 4
