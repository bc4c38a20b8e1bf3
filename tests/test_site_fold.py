"""Code cut to the point: long blocks folded (rwsite/fold.py), library regions not repeated
across pages unless each page is about them."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from rwsite import fold

DOCS = Path(__file__).resolve().parents[1] / "docs"


def block(n: int, lang: str = "python") -> str:
    lines = "".join(f'<span id="__span-0-{i}"><a id="__codelineno-0-{i}"></a>x = {i}\n</span>'
                    for i in range(1, n + 1))
    return f'<div class="language-{lang} highlight"><pre><span></span><code>{lines}</code></pre></div>'


def test_short_blocks_are_left_alone():
    html = "<p>a</p>" + block(15) + block(3, "text")
    assert fold.fold(html) == html


def test_long_blocks_fold_with_their_own_switch():
    html = block(16) + "<p>between</p>" + block(40, "markdown") + block(2)
    out = fold.fold(html)
    assert out.count('class="rw-fold"') == 2
    ids = re.findall(r'<input type="checkbox" class="rw-fold__toggle" id="([^"]+)">', out)
    assert len(ids) == 2 and len(set(ids)) == 2
    for ident in ids:
        assert f'<label class="rw-fold__switch" for="{ident}">' in out
    assert "Show all 16 lines" in out and "Show all 40 lines" in out
    assert block(2) in out and "<p>between</p>" in out


def test_lines_are_counted_from_the_line_anchors():
    assert fold.lines_of(block(7)) == 7
    assert fold.lines_of('<div class="language-text highlight"><pre><code>a\nb\nc</code></pre></div>') == 3


# A region shown on more than one page, and why each of those pages is about it.
SHARED_REGIONS = {
    "rawweights_jax/nn/attention/mha.py:qk": "how queries and keys are made (how-it-reads), where "
        "RoPE turns them (positions), where QK-norm scales them (normalization)",
    "rawweights_jax/model/gpt.py:embed": "token embeddings (how-it-reads); learned and sinusoidal "
        "positions live in it (positions)",
    "rawweights_jax/nn/attention/naive.py:naive": "the mask applied (future-blind); the T x T "
        "score matrix whose cost the page measures (attention-cost)",
    "rawweights_jax/kvcache/cache.py:kvcache": "the cache introduced (formal-performance); the "
        "cache strategies compared (kv-cache)",
    "rawweights_jax/train/trainer.py:step": "folded on both: the climbers' shared step, the MoE "
        "losses entering it",
    "rawweights_jax/train/optimizer.py:optimizer": "AdamW introduced (intelligent-climber); the "
        "recipe's choices in it, Muon beside AdamW and the schedules (recipe)",
}


def test_no_region_is_repeated_without_a_reason():
    pages = defaultdict(set)
    for md in DOCS.rglob("*.md"):
        for region in re.findall(r'^\s*--8<-- "([^"]+:[\w-]+)"', md.read_text(), re.M):
            pages[region].add(md.relative_to(DOCS).as_posix())
    repeated = {r: sorted(p) for r, p in pages.items() if len(p) > 1}
    unexplained = {r: p for r, p in repeated.items() if r not in SHARED_REGIONS}
    assert not unexplained, f"regions shown on several pages: {unexplained}; show each on the page " \
                            "that explains it and link there, or say in SHARED_REGIONS why each page is about it"
    stale = set(SHARED_REGIONS) - set(repeated)
    assert not stale, f"SHARED_REGIONS lists regions no longer repeated: {stale}"
