"""Helpers shared by the site tests (tests/test_site_*.py): throwaway projects and one site build.

`project` lays out a tiny repository in a temporary folder (snippets and a fake library), so
executor tests are fast and never touch the real cache. `built_site` gives the real site, built
strictly: the last `python3 dev.py site` when nothing it read has changed since (CI builds the
site first), else one built here once per test session (or the one in ``$RWSITE_BUILT_SITE``).
`snippet_outcomes` gives every real snippet's outcome through the executor and its cache: what
the site build ran is read, not run again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


@dataclass
class Project:
    root: Path
    library: Path
    cache: Path

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    def executor(self, **kwargs):
        from rwsite.executor import Executor

        kwargs.setdefault("jobs", 2)
        return Executor(self.root, library_dir=self.library, cache_dir=self.cache, **kwargs)


def make_project(tmp_path: Path) -> Project:
    root = tmp_path / "repo"
    library = root / "fakelib"
    library.mkdir(parents=True)
    (library / "model.py").write_text("WIDTH = 8\n")
    return Project(root, library, tmp_path / "cache")


def counting_snippet(counter: Path, body: str = 'print("hello")') -> str:
    """A snippet that appends a line to `counter` every time it really runs."""
    return f'with open({str(counter)!r}, "a") as fh:\n    fh.write("ran\\n")\n{body}\n'


def runs(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def alive(pid: int) -> bool:
    """Running (a killed process whose new parent has not reaped it yet is a zombie: not alive)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@dataclass
class BuiltSite:
    directory: Path
    log: str


_built: BuiltSite | None = None

# A cold build (every snippet run) takes 12-18 minutes alone on a 2-core machine; under
# `dev.py test` the other worker's tests share those cores, and in CI it once ran past 30 minutes.
SITE_BUILD_TIMEOUT_S = 3600


def built_site(tmp_root: Path) -> BuiltSite:
    """The real site, built strictly once per session (with the real snippet cache)."""
    global _built
    if _built is not None:
        return _built
    given = os.environ.get("RWSITE_BUILT_SITE")
    if given:
        _built = BuiltSite(Path(given).resolve(), log="")
        return _built
    from rwsite.repo import fresh_build

    record = fresh_build(REPO, cache_dir())
    if record is not None:  # `python3 dev.py site` just built it: read that build
        _built = BuiltSite(Path(record["site_dir"]), log=record["log"])
        return _built
    out = tmp_root / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run([str(VENV_BIN / "mkdocs"), "build", "--strict", "--site-dir", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=SITE_BUILD_TIMEOUT_S)
    if proc.returncode != 0:
        raise AssertionError(f"the site build failed:\n{proc.stdout}\n{proc.stderr}")
    _built = BuiltSite(out, proc.stdout + proc.stderr)
    return _built


def cache_dir() -> Path:
    return Path(os.environ.get("RWSITE_CACHE_DIR") or REPO / ".cache")


SNIPPETS = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "snippets").rglob("*.py")
                  if not p.name.startswith("_") and "__pycache__" not in p.parts)


def snippet_runs() -> list:
    """Every real snippet (helpers aside), with the longest timeout a fence gives it."""
    from rwsite.executor import DEFAULT_TIMEOUT, Run
    from rwsite.fence import Fence, FenceError, find_fences

    timeouts: dict[str, float] = {}
    for page in (REPO / "docs").rglob("*.md"):
        for _, options in find_fences(page.read_text(encoding="utf-8")):
            try:
                run = Fence.parse(options).run
            except (FenceError, AttributeError):
                continue
            timeouts[run.path] = max(timeouts.get(run.path, 0.0), run.timeout)
    return [Run(path, timeouts.get(path, DEFAULT_TIMEOUT)) for path in SNIPPETS]


_outcomes: dict | None = None


def snippet_outcomes() -> dict:
    """path -> Outcome of every real snippet, from the cache the site build filled (a miss runs)."""
    global _outcomes
    if _outcomes is None:
        from rwsite.executor import Executor

        executor = Executor(REPO, cache_dir=cache_dir())
        executor.prefetch(snippet_runs())
        _outcomes = {run.path: outcome for run, outcome in executor.outcomes.items()}
    return _outcomes


def html_pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if p.name != "404.html")
