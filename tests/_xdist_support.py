"""How `python3 dev.py test` shares the tests between pytest-xdist workers (one per core).

Each library test is its own unit of work, so the two cores take them one by one. The tests
that use the one real site build, or read every snippet's outcome, must stay in a single
worker: after `python3 dev.py site` they only read that build, but on a fresh clone they run
the snippets (minutes), and a second worker would run them again and race the first on
`.cache/shared`. Those modules form one unit, "site"; xdist sends the largest units first, so
it starts at once on one worker while the other takes the library tests.

pytest-xdist's own `--dist loadgroup` (an `xdist_group` mark) does not group under pytest 9.2:
xdist renames `item._nodeid`, which pytest 9.2 no longer reads, and every marked test landed
on its own. This scheduler decides from the module's file name instead, through xdist's
public `pytest_xdist_make_scheduler` hook, and `test_site_ci` checks in a real two-worker run
that it keeps those modules together.
"""

from __future__ import annotations

import pytest

SITE_MODULES = ("test_site_build.py", "test_site_browser.py", "test_site_browser_widgets.py", "test_site_snippets.py",
                "test_playground_browser.py", "test_site_browser_calculator.py")
"""Test modules that share the real site build, the snippet outcomes or `.cache/shared`: one worker runs them all."""


def unit_of(nodeid: str) -> str:
    """The unit of work a test belongs to: "site" for SITE_MODULES, else the test itself."""
    module = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    return "site" if module in SITE_MODULES else nodeid


@pytest.hookimpl(optionalhook=True)   # a hook of pytest-xdist: ignored where it is absent
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "load":    # the default under -n; an explicit --dist wins
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SiteTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid)

    return SiteTogether(config, log)
