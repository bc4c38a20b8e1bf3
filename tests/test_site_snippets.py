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
