"""Helpers shared by the site tests (tests/test_site_*.py): throwaway projects and one site build.

`project` lays out a tiny repository in a temporary folder (snippets and a fake library), so
executor tests are fast and never touch the real cache. `built_site` builds the real site once
per test session (or takes a built one from ``$RWSITE_BUILT_SITE``) and is shared by every test
module that needs it.
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
    out = tmp_root / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run([str(VENV_BIN / "mkdocs"), "build", "--strict", "--site-dir", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=SITE_BUILD_TIMEOUT_S)
    if proc.returncode != 0:
        raise AssertionError(f"the site build failed:\n{proc.stdout}\n{proc.stderr}")
    _built = BuiltSite(out, proc.stdout + proc.stderr)
    return _built


def html_pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if p.name != "404.html")
