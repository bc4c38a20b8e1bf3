"""The host side of the paged cache: which pages each decode slot holds, decided in Python.

The device never allocates: between two steps the server asks `PageTables` for room (a slot
joins with its prompt, or grows by the tokens of the next step), frees a slot's pages when its
request leaves, and hands the tables to the device with `sync`. Pages come from a free list
(`PagePool`), one per kind of layer: the global layers' pool, shared by all slots and reserved a
page at a time as a sequence grows, and the local layers' pool, from which each slot takes the
pages of its ring (at most ring_pages, however long it grows; paged.py).

Memory is reserved a page at a time, so a slot wastes less than one page per kind of layer,
against max_len - length slots for the contiguous cache; `stats` reports pages used and free
and bytes reserved against bytes holding tokens.

Equal prompt prefixes share pages (`admit`). Once written, a full page of a global layer never
changes (a slot only writes at positions past its length), so a request whose prompt begins
with the same page_size x i tokens as one already in the cache takes those i pages as they
are, counts itself among their holders, and feeds only the rest of its prompt. A page goes
back to the free list when its last holder leaves. A page is found by its tokens and the page
before it, which names the whole prefix exactly (no hash to collide). Models with
sliding-window layers share nothing: a ring's pages are overwritten as the slot grows.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from rawweights_jax.config import ModelConfig
from rawweights_jax.kvcache.paged import NO_PAGE, PagedKVCache, PageLayout, ceil_pages, page_bytes


class PoolExhausted(RuntimeError):
    """No free page is left for a request: the server should wait for a slot to leave."""


class PagePool:
    """A free list of the page ids 0..n-1, handed out last in, first out."""

    def __init__(self, n_pages: int, name: str = "pages", order=None):
        order = list(range(n_pages)) if order is None else [int(p) for p in order]
        if sorted(order) != list(range(n_pages)):
            raise ValueError(f"the free list of {name} must hold each page id 0..{n_pages - 1} once")
        self.n_pages, self.name = n_pages, name
        self._free = order[::-1]             # pop() takes from the end: order[0] goes first
        self._taken = np.zeros(n_pages, bool)

    @property
    def free(self) -> int:
        return len(self._free)

    @property
    def used(self) -> int:
        return self.n_pages - len(self._free)

    def take(self, n: int) -> list[int]:
        if n > len(self._free):
            raise PoolExhausted(f"{self.name}: {n} page(s) needed, {len(self._free)} of "
                                f"{self.n_pages} free; wait for a slot to leave or build a larger pool")
        pages = [self._free.pop() for _ in range(n)]
        self._taken[pages] = True
        return pages

    def give(self, pages) -> None:
        pages = [int(p) for p in pages]
        if not self._taken[pages].all():
            raise ValueError(f"{self.name}: page(s) {[p for p in pages if not self._taken[p]]} "
                             "given back but not taken")
        self._taken[pages] = False
        self._free.extend(reversed(pages))


class PageTables:
    """Block tables, ring tables and lengths of every decode slot, kept on the host.

    The protocol, between device steps: `admit(slot, prompt)` when a request joins (it returns
    how many prompt tokens are already there, shared), `reserve(slot, n)` for each slot that
    will feed n tokens in the next step (1 per decode step), `release(slot)` when a request
    leaves, then `cache = tables.sync(cache)` right before the step: it writes the
    tables and the stored lengths into the cache and counts the reserved tokens as stored. A
    device loop may run several steps after one sync if their tokens were reserved before it.
    """

    def __init__(self, cfg: ModelConfig, layout: PageLayout, dtype=jnp.float32,
                 order=None, ring_order=None):
        self.cfg, self.layout = cfg, layout
        self.pool = PagePool(layout.pages, "global pages", order)
        self.ring_pool = PagePool(layout.ring_pool, "ring pages", ring_order)
        self.block_table = np.full((layout.slots, layout.max_pages), NO_PAGE, np.int32)
        self.ring_table = np.full((layout.slots, layout.ring_pages), NO_PAGE, np.int32)
        self.stored = np.zeros(layout.slots, np.int32)    # tokens in the cache (as of the last sync)
        self.pending = np.zeros(layout.slots, np.int32)   # tokens reserved for the next step
        self.holders = np.zeros(layout.pages, np.int32)    # slots holding each global page
        self._prefix: dict[tuple, int] = {}   # (page before or -1, its tokens) -> written page
        self._key: dict[int, tuple] = {}      # page -> its key in _prefix
        self._unpublished: list[tuple[int, tuple]] = []   # (slot, prompt) written by the next step
        self._bytes = page_bytes(cfg, layout.page_size, dtype)
        self._token_bytes = {local: b // layout.page_size for local, b in self._bytes.items()}

    def empty_cache(self, dtype=jnp.float32) -> PagedKVCache:
        return PagedKVCache.empty(self.cfg, self.layout, dtype)

    def length(self, slot: int) -> int:
        """Tokens the slot will hold after the reserved ones are written."""
        return int(self.stored[slot] + self.pending[slot])

    def reserve(self, slot: int, n_new: int) -> None:
        """Make room in `slot` for `n_new` more tokens (fed by the next step). Raises
        PoolExhausted, changing nothing, when a pool has too few free pages."""
        self._check_slot(slot)
        if not (isinstance(n_new, (int, np.integer)) and n_new >= 0):
            raise ValueError(f"n_new={n_new!r} is invalid: expected an integer >= 0")
        lay = self.layout
        length = self.length(slot) + int(n_new)
        if length > lay.max_pages * lay.page_size:
            raise ValueError(f"slot {slot} would hold {length} tokens, more than its "
                             f"{lay.max_pages} pages x {lay.page_size} tokens")
        # --8<-- [start:reserve]
        held = self._held(slot)
        need = ceil_pages(length, lay.page_size) - held[False]
        need_ring = min(ceil_pages(length, lay.page_size), lay.ring_pages) - held[True]
        for pool, n in ((self.pool, need), (self.ring_pool, need_ring)):
            if n > pool.free:        # raise before taking any page: all or nothing
                pool.take(n)
        pages = self.pool.take(need)
        self.block_table[slot, held[False]:held[False] + need] = pages
        self.holders[pages] = 1
        self.ring_table[slot, held[True]:held[True] + need_ring] = self.ring_pool.take(need_ring)
        self.pending[slot] += n_new
        # --8<-- [end:reserve]

    def admit(self, slot: int, prompt) -> int:
        """Start a request in the empty `slot` and reserve room for its prompt, sharing the
        full pages of a prefix already written by another slot. Returns how many prompt
        tokens are shared: the next step feeds only prompt[shared:] (at least its last token,
        whose logits choose the first new one)."""
        self._check_slot(slot)
        if self.length(slot):
            raise ValueError(f"slot {slot} is busy ({self.length(slot)} tokens): release it first")
        prompt = tuple(int(t) for t in prompt)
        if not prompt:
            raise ValueError("the prompt is empty: give at least one token")
        size = self.layout.page_size
        if len(prompt) > self.layout.max_pages * size:
            raise ValueError(f"the prompt's {len(prompt)} tokens exceed a slot's "
                             f"{self.layout.max_pages} pages x {size} tokens")
        # --8<-- [start:share]
        shared: list[int] = []
        if not self.layout.ring_pages:
            while (len(shared) + 1) * size < len(prompt):
                start = len(shared) * size
                page = self._prefix.get((shared[-1] if shared else -1, prompt[start:start + size]))
                if page is None:
                    break
                shared.append(page)
        # --8<-- [end:share]
        need = ceil_pages(len(prompt), size) - len(shared)
        if need > self.pool.free:             # check before sharing: all or nothing
            self.pool.take(need)
        self.block_table[slot, :len(shared)] = shared
        self.holders[shared] += 1
        self.stored[slot] = len(shared) * size
        self.reserve(slot, len(prompt) - len(shared) * size)
        if not self.layout.ring_pages:
            self._unpublished.append((slot, prompt))
        return len(shared) * size

    def release(self, slot: int) -> None:
        """Let go of every page of `slot`: its request left; the slot starts empty. A shared
        page returns to the free list when its last holder lets go."""
        self._check_slot(slot)
        held = self._held(slot)
        pages = self.block_table[slot, :held[False]]
        self.holders[pages] -= 1
        freed = [int(p) for p in pages if self.holders[p] == 0]
        for page in freed:
            self._prefix.pop(self._key.pop(page, None), None)
        self.pool.give(freed)
        self._unpublished = [(s, p) for s, p in self._unpublished if s != slot]
        self.ring_pool.give(self.ring_table[slot, :held[True]])
        self.block_table[slot] = NO_PAGE
        self.ring_table[slot] = NO_PAGE
        self.stored[slot] = self.pending[slot] = 0

    def move(self, src: int, dst: int) -> None:
        """Move the sequence of slot `src` to the empty slot `dst`: its table rows and lengths
        change rows, its pages stay where they are (a server packs its busy slots first, so
        that a step can run only the rows in use)."""
        self._check_slot(src)
        self._check_slot(dst)
        if self.length(dst) or self._held(dst)[False] or self._held(dst)[True]:
            raise ValueError(f"slot {dst} is busy: release it before moving slot {src} there")
        for table in (self.block_table, self.ring_table, self.stored, self.pending):
            table[dst], table[src] = table[src].copy(), (NO_PAGE if table.ndim == 2 else 0)
        self._unpublished = [(dst if s == src else s, p) for s, p in self._unpublished]

    def sync(self, cache: PagedKVCache) -> PagedKVCache:
        """The cache with the host's tables and lengths, for the next step; the tokens reserved
        so far count as stored from now on (the step writes them)."""
        cache = cache._replace(block_table=jnp.asarray(self.block_table),
                               ring_table=jnp.asarray(self.ring_table),
                               length_B=jnp.asarray(self.stored))
        self.stored += self.pending
        self.pending[:] = 0
        for slot, prompt in self._unpublished:   # the step writes these prompts' full pages
            self._publish(slot, prompt)
        self._unpublished = []
        return cache

    def _publish(self, slot: int, prompt: tuple) -> None:
        """Make the full pages of a written prompt findable by later prompts."""
        size, before = self.layout.page_size, -1
        for i in range(len(prompt) // size):
            page = int(self.block_table[slot, i])
            key = (before, prompt[i * size:(i + 1) * size])
            if self._prefix.setdefault(key, page) != page:
                return      # another slot wrote this prefix in the same step: its pages stand
            self._key[page], before = key, page

    def stats(self) -> dict[str, int]:
        """Pages used, free and shared (by several slots) in each pool, and bytes reserved
        (pages held) against bytes used (entries holding a token, a shared one once; a ring
        holds at most ring_pages x page_size)."""
        lay, size = self.layout, self.layout.page_size
        lengths = self.stored + self.pending
        filled: dict[int, int] = {}           # global page -> entries written
        for slot, length in enumerate(lengths.tolist()):
            for i in range(ceil_pages(length, size)):
                page = int(self.block_table[slot, i])
                filled[page] = max(filled.get(page, 0), min(size, length - i * size))
        ring_tokens = np.minimum(lengths, lay.ring_pages * size)
        return {
            "pages_used": self.pool.used, "pages_free": self.pool.free,
            "pages_shared": int((self.holders > 1).sum()),
            "ring_pages_used": self.ring_pool.used, "ring_pages_free": self.ring_pool.free,
            "bytes_reserved": self.pool.used * self._bytes[False] + self.ring_pool.used * self._bytes[True],
            "bytes_used": sum(filled.values()) * self._token_bytes[False]
                          + int(ring_tokens.sum()) * self._token_bytes[True],
        }

    def _held(self, slot: int) -> dict[bool, int]:
        return {False: int((self.block_table[slot] != NO_PAGE).sum()),
                True: int((self.ring_table[slot] != NO_PAGE).sum())}

    def _check_slot(self, slot) -> None:
        if not (isinstance(slot, (int, np.integer)) and 0 <= slot < self.layout.slots):
            raise ValueError(f"slot={slot!r} is invalid: expected an integer in [0, {self.layout.slots})")
