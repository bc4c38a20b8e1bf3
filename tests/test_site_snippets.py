"""Every real snippet runs on its own, as a contributor debugging it would run it.

`python snippets/<part>/<idea>.py` from the repository root must exit 0 for every snippet
(files starting with `_` are helper modules, not snippets). All of them start at once, one per
core, and each test reports its own; expensive shared results come from `.cache/shared`.
Marked `standalone`: deselect with ``-m "not standalone"`` when iterating on something else.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from _site_support import REPO

SNIPPETS = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "snippets").rglob("*.py")
                  if not p.name.startswith("_") and "__pycache__" not in p.parts)
TIMEOUT_S = 900


def run_standalone(snippet: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, MPLBACKEND="Agg", JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "cpu"))
    try:
        return subprocess.run([sys.executable, snippet], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        return subprocess.CompletedProcess(exc.cmd, -1, "", f"timed out after {TIMEOUT_S} s")


@pytest.fixture(scope="module")
def results():
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return dict(zip(SNIPPETS, pool.map(run_standalone, SNIPPETS)))


@pytest.mark.standalone
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("snippet", SNIPPETS)
def test_snippet_runs_standalone(results, snippet):
    result = results[snippet]
    assert result.returncode == 0, f"python {snippet} exited {result.returncode}:\n{result.stderr[-3000:]}"
