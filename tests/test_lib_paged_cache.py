"""The paged KV cache (kvcache/paged.py, kvcache/pages.py): decoding through block tables equals
the contiguous cache for every kind of cache the models have (dense, grouped-query, sliding
window rings, the MLA latent), with slots of different lengths in one batch, pages handed out
in shuffled order, and requests joining and leaving between steps; and the host allocator."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from rawweights_jax.families.tiny import tiny_config
from rawweights_jax.inference.generate import cached_logits
from rawweights_jax.kvcache.cache import KVCache, cache_widths
from rawweights_jax.kvcache.pages import PagePool, PageTables, PoolExhausted
from rawweights_jax.kvcache.paged import NO_PAGE, PagedKVCache, PageLayout
from rawweights_jax.model.gpt import init_model

FAMILIES = {"mha": "gpt2", "gqa": "llama", "window": "gemma3_text", "mla": "deepseek_v3"}
"""One tiny family per cache kind: gpt2 K = N; llama K = N/3; gemma3 local (window 5), global,
local; deepseek_v3 the MLA latent."""

PROMPTS = [[5, 9, 2], list(range(10, 24)), [7, 1, 8, 2, 8, 1, 8, 2, 8]]   # 3, 14, 9 tokens
N_NEW = 12                    # every slot passes the window of 5 and its ring of 2 x 4 entries
PAGE = 4


@functools.cache
def _model(kind):
    model = init_model(tiny_config(FAMILIES[kind]).model, seed=1)
    graph, params = nnx.split(model)
    step = jax.jit(lambda p, tokens_BT, cache, valid_BT: nnx.merge(graph, p).step(tokens_BT, cache, valid_BT))
    return model, lambda tokens_BT, cache, valid_BT: step(params, tokens_BT, cache, valid_BT)


def _reference(kind, b):
    """Greedy tokens and the logits before each, from the contiguous cache (one row alone)."""
    return _reference_of(kind, tuple(PROMPTS[b]))


@functools.cache
def _reference_of(kind, prompt):
    tokens, logits = cached_logits(_model(kind)[0], list(prompt), N_NEW)
    return np.asarray(tokens), np.asarray(logits)


def _tables(cfg, slots=3, pages=40, max_len=32, seed=0):
    layout = PageLayout.for_model(cfg, slots, PAGE, pages, max_len)
    rng = np.random.default_rng(seed)          # pages handed out in shuffled order
    return PageTables(cfg, layout, order=rng.permutation(layout.pages),
                      ring_order=rng.permutation(layout.ring_pool))


def _feed(step, tables, cache, rows: dict[int, list[int]], width: int, reserved: bool = False):
    """One step: slot -> its tokens (right-padded to `width`); idle slots feed nothing.
    Returns each fed slot's logits after its last token, and the cache."""
    tokens_BT = np.zeros((tables.layout.slots, width), np.int32)
    valid_BT = np.zeros((tables.layout.slots, width), bool)
    for slot, toks in rows.items():
        if not reserved:
            tables.reserve(slot, len(toks))
        tokens_BT[slot, :len(toks)], valid_BT[slot, :len(toks)] = toks, True
    logits_BTV, cache = step(jnp.asarray(tokens_BT), tables.sync(cache), jnp.asarray(valid_BT))
    logits_BTV = np.asarray(logits_BTV)
    return {slot: logits_BTV[slot, len(toks) - 1] for slot, toks in rows.items()}, cache


@pytest.mark.parametrize("kind", FAMILIES)
def test_prefill_then_decode_equals_the_contiguous_cache(kind):
    """Three prompts of 3, 14 and 9 tokens prefilled in one step, then greedy decoding."""
    model, step = _model(kind)
    tables = _tables(model.cfg)
    cache = tables.empty_cache()
    out, cache = _feed(step, tables, cache, dict(enumerate(PROMPTS)), max(map(len, PROMPTS)))
    for i in range(N_NEW):
        for b in range(3):
            tokens, logits = _reference(kind, b)
            np.testing.assert_allclose(out[b], logits[i], atol=2e-5, rtol=1e-5)
            assert int(out[b].argmax()) == tokens[i]
        out, cache = _feed(step, tables, cache, {b: [int(out[b].argmax())] for b in range(3)}, 1)
    assert np.asarray(cache.length_B).tolist() == [len(p) + N_NEW for p in PROMPTS]


@pytest.mark.parametrize("kind", FAMILIES)
def test_token_by_token_with_requests_joining_and_leaving(kind):
    """Continuous batching: every step feeds one token per busy slot, prompt or generated.
    Slot 0 starts alone; slot 1 joins two steps later; slot 2 first serves prompt 0 for 6
    tokens, leaves (its pages go back) and then serves prompt 2 from the start."""
    model, step = _model(kind)
    tables = _tables(model.cfg)
    cache = tables.empty_cache()
    plan = {0: [(0, 0)], 1: [(2, 1)], 2: [(0, 0, 6), (9, 2)]}   # slot -> (start step, prompt[, stop])
    state = {}                                                  # slot -> (prompt, fed, seen logits)
    for t in range(40):
        for slot, jobs in plan.items():
            for start, b, *stop in jobs:
                if t == start:
                    state[slot] = (b, [], [])
                if stop and t == start + stop[0] and state.get(slot, (None,))[0] == b:
                    tables.release(slot)
                    del state[slot]
        rows = {}
        for slot, (b, fed, seen) in state.items():
            if len(fed) < len(PROMPTS[b]):
                rows[slot] = [PROMPTS[b][len(fed)]]
            elif len(seen) < N_NEW:
                rows[slot] = [int(seen[-1].argmax())]
        if not rows:
            continue
        out, cache = _feed(step, tables, cache, rows, 1)
        for slot, toks in rows.items():
            b, fed, seen = state[slot]
            fed.extend(toks)
            if len(fed) >= len(PROMPTS[b]):
                seen.append(out[slot])
    assert set(state) == {0, 1, 2}
    for slot, (b, fed, seen) in state.items():
        tokens, logits = _reference(kind, b)
        np.testing.assert_allclose(np.stack(seen[:N_NEW]), logits, atol=2e-5, rtol=1e-5)
        assert fed[len(PROMPTS[b]):] == tokens[:N_NEW - 1].tolist()


def test_a_ring_holds_one_window_and_global_pages_grow():
    cfg = tiny_config("gemma3_text").model          # local, global, local; window 5
    layout = PageLayout.for_model(cfg, slots=2, page_size=4, pages=10, max_len=40)
    assert (layout.max_pages, layout.ring_pages, layout.ring_pool) == (10, 2, 4)
    cache = PagedKVCache.empty(cfg, layout)
    assert [k.shape[:2] for k in cache.k] == [(4, 4), (10, 4), (4, 4)]
    tables = PageTables(cfg, layout)
    tables.reserve(0, 30)
    assert tables.stats()["pages_used"] == 8 and tables.stats()["ring_pages_used"] == 2
    assert (tables.block_table[0] != NO_PAGE).sum() == 8 and (tables.ring_table[0] != NO_PAGE).all()


def test_free_returns_pages_and_exhaustion_changes_nothing():
    cfg = tiny_config("llama").model
    tables = PageTables(cfg, PageLayout.for_model(cfg, slots=3, page_size=4, pages=6, max_len=16))
    tables.reserve(0, 9)                  # 3 pages
    tables.reserve(1, 8)                  # 2 pages
    assert (tables.stats()["pages_used"], tables.stats()["pages_free"]) == (5, 1)
    before = tables.block_table.copy()
    with pytest.raises(PoolExhausted, match=r"2 page\(s\) needed, 1 of 6 free"):
        tables.reserve(2, 5)
    np.testing.assert_array_equal(tables.block_table, before)
    assert tables.length(2) == 0 and tables.stats()["pages_free"] == 1
    tables.release(0)
    assert tables.stats()["pages_free"] == 4 and (tables.block_table[0] == NO_PAGE).all()
    tables.reserve(2, 13)                 # now it fits: the last free page and slot 0's three
    assert set(tables.block_table[2, :4]) == set(range(6)) - set(before[1, :2].tolist())
    with pytest.raises(ValueError, match="slot 1 would hold 17 tokens"):
        tables.reserve(1, 9)
    with pytest.raises(ValueError, match="slot=3 is invalid"):
        tables.reserve(3, 1)


def test_bytes_reserved_against_used():
    cfg = tiny_config("gemma3_text").model          # 2 local layers, 1 global; window 5
    layout = PageLayout.for_model(cfg, slots=2, page_size=4, pages=10, max_len=40)
    tables = PageTables(cfg, layout)
    (K, H), (Kv, Hv) = cache_widths(cfg)
    token = (K * H + Kv * Hv) * 4                   # one token of one layer, float32
    tables.reserve(0, 9)                            # 3 global pages; ring 2 pages, 8 entries
    tables.reserve(1, 1)                            # 1 global page; 1 ring page
    stats = tables.stats()
    assert stats["bytes_reserved"] == (4 * 1 + 3 * 2) * 4 * token
    assert stats["bytes_used"] == (10 * 1 + (8 + 1) * 2) * token
    contiguous = sum(x.nbytes for x in KVCache.empty(cfg, 2, 40).k + KVCache.empty(cfg, 2, 40).v)
    assert stats["bytes_reserved"] < contiguous
    tables.release(0)
    tables.release(1)
    assert tables.stats() == {"pages_used": 0, "pages_free": 10, "pages_shared": 0, "ring_pages_used": 0,
                              "ring_pages_free": 4, "bytes_reserved": 0, "bytes_used": 0}


def test_pool_checks_its_free_list():
    with pytest.raises(ValueError, match="each page id 0..3 once"):
        PagePool(4, order=[0, 1, 1, 3])
    pool = PagePool(4, order=[2, 0, 3, 1])
    assert pool.take(2) == [2, 0]
    with pytest.raises(ValueError, match=r"page\(s\) \[3\] given back but not taken"):
        pool.give([3])
    pool.give([0])
    assert pool.take(1) == [0] and pool.free == 2
    with pytest.raises(ValueError, match="page_size=0 is invalid"):
        PageLayout.for_model(tiny_config("llama").model, 2, 0, 4, 16)


@pytest.mark.parametrize("kind", ["gqa", "mla"])
def test_equal_prompt_prefixes_share_pages(kind):
    """Slot 1's prompt begins with the 12 tokens (3 pages) of slot 0's: it takes those pages
    and feeds two tokens. Slot 0 then leaves; the shared pages stay with slot 1 while a third
    request takes the pages slot 0 gave back, and slot 1 still decodes as the contiguous cache."""
    model, step = _model(kind)
    tables = _tables(model.cfg, pages=12)
    cache = tables.empty_cache()
    first, second, third = PROMPTS[1], PROMPTS[1][:12] + [3, 4], PROMPTS[2]
    assert tables.admit(0, first) == 0
    out, cache = _feed(step, tables, cache, {0: first}, len(first), reserved=True)
    assert tables.admit(1, second) == 12
    assert tables.stats()["pages_shared"] == 3 and tables.stats()["pages_used"] == 5
    np.testing.assert_array_equal(tables.block_table[1, :3], tables.block_table[0, :3])
    seen = []
    out, cache = _feed(step, tables, cache, {1: second[12:]}, 2, reserved=True)
    seen.append(out[1])
    tables.release(0)
    assert tables.stats()["pages_shared"] == 0 and tables.stats()["pages_used"] == 4
    assert tables.admit(2, third) == 0     # 3 pages: slot 0's last page and two free ones
    out, cache = _feed(step, tables, cache, {2: third}, len(third), reserved=True)
    for _ in range(N_NEW - 1):
        out, cache = _feed(step, tables, cache, {1: [int(seen[-1].argmax())]}, 1)
        seen.append(out[1])
    tokens, logits = _reference_of(kind, tuple(second))
    np.testing.assert_allclose(np.stack(seen), logits, atol=2e-5, rtol=1e-5)
    assert [int(x.argmax()) for x in seen] == tokens.tolist()
    tables.release(1)
    tables.release(2)
    assert tables.stats()["pages_free"] == 12 and not tables._prefix


def test_sliding_window_models_share_nothing():
    cfg = tiny_config("gemma3_text").model
    tables = _tables(cfg)
    assert tables.admit(0, PROMPTS[1]) == 0
    tables.sync(tables.empty_cache())
    assert tables.admit(1, PROMPTS[1]) == 0 and tables.stats()["pages_shared"] == 0
    with pytest.raises(ValueError, match="slot 1 is busy"):
        tables.admit(1, [1])
    with pytest.raises(ValueError, match="the prompt's 33 tokens exceed a slot's 8 pages x 4"):
        tables.admit(2, [1] * 33)
    assert tables.length(2) == 0 and tables.stats()["pages_used"] == 8


@pytest.mark.parametrize("kind", ["gqa", "window"])
def test_a_sequence_moved_to_another_slot_decodes_on(kind):
    """move() hands a slot's table rows to another: the pages stay, decoding goes on equal."""
    model, step = _model(kind)
    tables = _tables(model.cfg)
    cache = tables.empty_cache()
    out, cache = _feed(step, tables, cache, {2: PROMPTS[1]}, len(PROMPTS[1]))
    tokens, logits = _reference(kind, 1)
    last = out[2]
    with pytest.raises(ValueError, match="busy"):
        tables.move(0, 2)
    tables.move(2, 0)
    assert tables.length(2) == 0 and tables.length(0) == len(PROMPTS[1])
    for i in range(1, 6):
        out, cache = _feed(step, tables, cache, {0: [int(last.argmax())]}, 1)
        last = out[0]
        np.testing.assert_allclose(last, logits[i], atol=2e-5, rtol=1e-5)
    tables.release(0)
    assert tables.pool.used == 0 and tables.ring_pool.used == 0
