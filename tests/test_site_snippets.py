"""Every real snippet runs on its own, as a contributor debugging it would run it.

`python snippets/<part>/<idea>.py` must succeed for every snippet (files starting with `_` are
helper modules, not snippets). The executor runs each snippet exactly so: as `python SNIPPET`
from an empty scratch folder with a minimal environment (`test_runner_matches_plain_python`,
in test_site_sandbox.py, shows that the two are the same). So the outcome the site build
recorded is the proof, and this test reads it from the cache instead of running every snippet
a second time; a snippet no page embeds, or one whose entry is missing, runs here.
Marked `standalone`: deselect with ``-m "not standalone"`` when iterating on something else.
"""

from __future__ import annotations

import pytest

from _site_support import SITE_BUILD_TIMEOUT_S, SNIPPETS, snippet_outcomes


@pytest.mark.standalone
@pytest.mark.timeout(SITE_BUILD_TIMEOUT_S)
@pytest.mark.parametrize("snippet", SNIPPETS)
def test_snippet_runs_on_its_own(snippet):
    outcome = snippet_outcomes()[snippet]
    assert outcome.error is None, f"python {snippet} failed: {outcome.error}\n{outcome.stderr_tail()}"


# ----------------------------------------------------------------------------- the real site
def page_claims() -> dict[str, dict]:
    """page -> its placeholders (with the text the build put there) and the claims its
    snippets checked, from the outcomes the site build recorded."""
    from _site_support import REPO
    from rwsite import prose
    from rwsite.fence import find_fences

    outcomes = snippet_outcomes()
    listing = {}
    for page in sorted((REPO / "docs").rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        paths = list(dict.fromkeys(o.get("path", "") for _, o in find_fences(text) if isinstance(o, dict)))
        exported = {(p, name): value for p in paths if p in outcomes for name, value in outcomes[p].values.items()}
        inline = []
        for line, path, name in prose.placeholders(text):
            hits = [v for (p, n), v in exported.items() if n == name and (path is None or p == path)]
            if path is not None and not hits and path in outcomes:
                hits = [outcomes[path].values[name]] if name in outcomes[path].values else []
            inline.append((line, path, name, hits))
        checked = [(p, c["text"]) for p in paths if p in outcomes for c in outcomes[p].claims]
        if inline or checked:
            listing[page.relative_to(REPO).as_posix()] = {"inline": inline, "claims": checked}
    return listing


def test_every_inline_value_of_the_site_resolves_and_the_claims_are_listed(capsys):
    listing = page_claims()
    unresolved = [(page, line, name) for page, got in listing.items()
                  for line, _, name, hits in got["inline"] if len(hits) != 1]
    assert unresolved == []
    with capsys.disabled():      # the list of what the prose rests on, in the test log
        for page, got in listing.items():
            print(f"\n{page}: {len(got['inline'])} inline value(s), {len(got['claims'])} claim(s)")
            for path, text in got["claims"]:
                print(f"  claim ({path}): {text}")
    # the contradictions a reader found (issue 16) are now asserted where they live
    pages = {page: {text for _, text in got["claims"]} for page, got in listing.items()}
    assert "every edit in a guess's future moves it by exactly zero" in pages["docs/robot-student/future-blind.md"]
    assert any("seed" in text for text in pages["docs/architecture/kv-cache.md"])
    assert any("faster than linearly" in text for text in pages["docs/architecture/attention-cost.md"])


def test_no_snippet_warns_that_the_compilation_cache_failed():
    """JAX's persistent cache needs `filelock` for its size limit: a fresh install lacked it, and
    every snippet printed a warning under its output while nothing was cached."""
    warned = sorted(path for path, o in snippet_outcomes().items() if "persistent compilation cache" in o.stderr)
    assert warned == []
