"""The repository around a build: what snippets must not touch, and whether a build is current.

Two questions, both answered from the list of files the repository holds (`git ls-files`:
tracked files and untracked ones that are not ignored; outside git, every file below the root
except hidden folders, `__pycache__` and the folders given to skip):

- **Did a snippet change the repository?** `Guard` takes a snapshot (size and modification time
  of each file) when the first snippet starts and compares after each run: a file changed,
  created or deleted while snippets ran is reported against the runs that were in flight. A
  snippet writes into its scratch folder or `.cache/` (ignored), never into the sources.
- **Is the last build current?** `fingerprint` hashes the content of the files a build reads
  (everything but `tests/`); `write_stamp` records it with the site folder and the build's
  report when a strict `mkdocs build` succeeds, and `fresh_build` returns that record while
  the fingerprint still matches. The tests read a fresh build instead of building again.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from rwsite.cache import digest

STAMP = "site-build.json"


def listed_files(root: Path, skip: tuple[Path, ...] = ()) -> list[str]:
    """Paths (relative, POSIX) of the files the repository holds, sorted."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=root, capture_output=True, timeout=60)
        if out.returncode == 0 and (root / ".git").exists():
            return sorted(set(p for p in out.stdout.decode("utf-8", "surrogateescape").split("\0") if p))
    except (OSError, subprocess.TimeoutExpired):
        pass
    skipped = {s.resolve() for s in skip}
    found = []
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__"
                   and (here / d).resolve() not in skipped]
        found += [(here / f).relative_to(root).as_posix() for f in files]
    return sorted(found)


def snapshot(root: Path, skip: tuple[Path, ...] = ()) -> dict[str, tuple[int, int] | None]:
    """Size and modification time of each listed file (None: listed but gone, a deleted file)."""
    state: dict[str, tuple[int, int] | None] = {}
    for rel in listed_files(root, skip):
        try:
            st = (root / rel).stat()
            state[rel] = (st.st_size, st.st_mtime_ns)
        except OSError:
            state[rel] = None
    return state


def differences(before: dict, after: dict) -> list[str]:
    """Readable changes from `before` to `after`: "changed X", "created Y", "deleted Z"."""
    out = []
    for rel in sorted(set(before) | set(after)):
        old, new = before.get(rel), after.get(rel)
        if old == new:
            continue
        out.append(f"created {rel}" if old is None else f"deleted {rel}" if new is None else f"changed {rel}")
    return out


class Guard:
    """Notices changes to the repository's files while snippets run."""

    def __init__(self, root: Path, skip: tuple[Path, ...] = ()):
        self.root, self.skip = root, skip
        self.baseline: dict | None = None

    def start(self) -> None:
        if self.baseline is None:
            self.baseline = snapshot(self.root, self.skip)

    def changes(self) -> list[str]:
        """What changed since the baseline (or the previous call); those become the new baseline."""
        self.start()
        now = snapshot(self.root, self.skip)
        found = differences(self.baseline, now)
        self.baseline = now
        return found


def fingerprint(root: Path, skip: tuple[Path, ...] = ()) -> str:
    """Hash of the names and contents of every file a build reads (tests/ aside)."""
    parts: list[str | bytes] = []
    for rel in listed_files(root, skip):
        if rel.startswith("tests/"):
            continue
        try:
            parts += [rel, (root / rel).read_bytes()]
        except OSError:
            parts += [rel, b"<missing>"]
    return digest(*parts)


def write_stamp(cache_dir: Path, record: dict) -> None:
    """Record a successful strict build (atomically) for `fresh_build` to find."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_dir / f".{STAMP}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps({**record, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}),
                   encoding="utf-8")
    os.replace(tmp, cache_dir / STAMP)


def fresh_build(root: Path, cache_dir: Path) -> dict | None:
    """The record of the last strict build of `root` if nothing it read has changed since."""
    try:
        record = json.loads((cache_dir / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not record.get("strict") or record.get("root") != str(root.resolve()):
        return None
    site = Path(str(record.get("site_dir", "")))
    if not (site / "index.html").is_file():
        return None
    skip = tuple(Path(p) for p in record.get("skip", []))
    return record if record.get("fingerprint") == fingerprint(root, skip) else None
