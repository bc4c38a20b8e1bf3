"""Helper for the paged-cache snippets (not a snippet): a seeded stream of requests like
`rawweights bench serve`'s, replayed through the real host-side PageTables over a fixed number
of decode slots, the way the serving engine drives them. No model runs: only the bookkeeping
of which pages each slot holds, sampled after every decode call.
"""

from collections import deque

import numpy as np

from rawweights_jax.bench.load import workload
from rawweights_jax.config import preset
from rawweights_jax.data.shakespeare import load_shakespeare
from rawweights_jax.kvcache.paged import NO_PAGE, PagedKVCache, PageLayout, ceil_pages, page_bytes
from rawweights_jax.kvcache.pages import PageTables

CFG = preset("shakespeare-char").model     # 6 layers, 6 heads of 64, float32: the served model
CTX = CFG.context_len                      # 256 tokens
TOKEN_BYTES = page_bytes(CFG, 1)[False]    # keys and values of one token, all layers
SLOTS, STEPS = 8, 8                        # the engine's defaults: 8 decode slots, 8 steps a call
RATE = 0.06                                # arrivals per decode step: the slots stay nearly full

_data = load_shakespeare()
TEXT = _data.tokenizer.decode(_data.val_Z.tolist())   # prompts are cut from the validation text


def requests(n: int, seed: int = 0, system: str = "", rate: float = RATE) -> list[dict]:
    """n requests from bench serve's `workload` (Poisson arrivals, prompts of 4-24 characters,
    16-256 new tokens), arrival times in decode steps; `system` goes before every prompt."""
    out = []
    for r in workload(n, rate, CTX - len(system), seed, TEXT):
        prompt = _data.tokenizer.encode(system + r["prompt"])
        out.append({"at": r["at"], "prompt": prompt, "max_tokens": r["max_tokens"]})
    return out


# --8<-- [start:replay]
def replay(reqs, page_size, *, slots=SLOTS, steps=STEPS, pages=None):
    """Serve `reqs` first come, first served; after each decode call, a sample of what the
    tables hold. `pages`: the pool (default: every slot's whole context); a request joins when
    the free pages cover its prompt + max_tokens beside what running ones may still take."""
    pages = pages or slots * ceil_pages(CTX, page_size)
    tables = PageTables(CFG, PageLayout.for_model(CFG, slots, page_size, pages, CTX))
    cache = PagedKVCache((), (), None, None, None)     # sync only swaps in the tables
    waiting, active, t, samples = deque(reqs), [None] * slots, 0.0, []
    while waiting or any(active):
        if not any(active):
            t = max(t, waiting[0]["at"])           # idle: jump to the next arrival
        for slot in range(slots):                  # join: the prompt's pages, then prefill
            if active[slot] is None and waiting and waiting[0]["at"] <= t \
                    and fits(tables, active, waiting[0]):
                r = active[slot] = dict(waiting.popleft())
                tables.admit(slot, r["prompt"])
                cache = tables.sync(cache)         # prefill writes the prompt, draws token 1
                r["left"] = r["max_tokens"] - 1    # tokens still to be written
        for slot, r in enumerate(active):          # one decode call: room for `steps` tokens
            if r is not None:
                tables.reserve(slot, min(steps, r["left"]))
                r["left"] -= min(steps, r["left"])
        cache, t = tables.sync(cache), t + steps
        samples.append(sample(tables, active, t))
        for slot, r in enumerate(active):          # leave: every page back to the pool
            if r is not None and r["left"] == 0:
                tables.release(slot)
                active[slot] = None
    return samples
# --8<-- [end:replay]


def fits(tables: PageTables, active, r) -> bool:
    """The engine's admission rule: pages for the whole request, beside the pages the running
    requests may still take to reach their max_tokens (so none is cut short for want of one)."""
    size = tables.layout.page_size
    final = lambda q: ceil_pages(len(q["prompt"]) + q["max_tokens"], size)
    promised = sum(final(q) - ceil_pages(tables.length(s), size) for s, q in enumerate(active) if q)
    return final(r) <= tables.pool.free - promised


def sample(tables: PageTables, active, t: float) -> dict:
    """What the paged tables hold, beside what the two contiguous schemes would reserve for the
    same requests at the same moment: every busy slot the whole context, or prompt + max_tokens."""
    s = tables.stats()
    busy = [r for r in active if r is not None]
    return {"t": t, "reserved": s["bytes_reserved"], "used": s["bytes_used"], "busy": len(busy),
            "pages_used": s["pages_used"], "pages_shared": s["pages_shared"],
            "pages_listed": int((tables.block_table != NO_PAGE).sum()),   # a shared page per holder
            "contiguous": len(busy) * CTX * TOKEN_BYTES,
            "upfront": sum(len(r["prompt"]) + r["max_tokens"] for r in busy) * TOKEN_BYTES}


def ratio(samples, key: str = "reserved") -> float:
    """Mean bytes of `key` over mean bytes used, while tokens were held (as bench serve reports)."""
    held = [s for s in samples if s["used"]]
    return float(np.mean([s[key] for s in held]) / np.mean([s["used"] for s in held]))
