"""What a snippet's output depends on, hashed into one key, and where the output is kept.

An output on disk is reused only while nothing that could change it has changed. The key hashes:

- the snippet file itself;
- the files it reaches (`rwsite.reach`): the helper modules beside it, the library modules it
  imports, transitively, and the data files those name by a literal path. Nothing else of the
  library: editing the CLI re-runs no snippet that does not import it;
- the executor's own source (the files that decide how a snippet runs and what is recorded);
- the versions of the packages that compute or draw, and the interpreter;
- the run options (seed, JAX platform). The timeout is not one: it decides whether a run
  finishes, not what it prints, and a run that did not finish is never kept.

Hashing reads files and package metadata only; nothing is imported, so a rebuild that changes
nothing costs well under a second here. Entries are single JSON files written atomically
(temporary name, then `os.replace`); one that cannot be read, does not match its key or is not
of the expected shape counts as missing, so it is run again.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
import uuid
from importlib import metadata
from pathlib import Path

from rwsite.reach import Reach

#: Packages whose versions are part of every key (and of the provenance line).
PACKAGES = ("jax", "jaxlib", "flax", "optax", "numpy", "matplotlib")

#: The executor's files that decide how a snippet runs and what is recorded. Editing the
#: renderer (fence.py), the hooks, the scheduler or the import reader re-renders pages but
#: does not re-run snippets.
RWSITE_DIR = Path(__file__).resolve().parent
EXECUTION_FILES = ("cache.py", "executor.py", "runner.py", "sandbox.py", "supervisor.py",
                   "mpl_backend.py", "matplotlibrc", "shared.py", "claims.py", "tables.py")

#: Bumped when the layout of an entry changes; older entries then read as missing.
FORMAT = 4

#: What a run may leave behind: more is an error naming the snippet, not a 50 MB page.
MAX_OUTPUT_BYTES = 1_000_000      # stdout and stderr together
MAX_FIGURE_BYTES = 4_000_000      # all of a run's SVG figures together

#: Entries of another configuration (seed, platform, mkdocs.yml) unused this long are removed.
MAX_AGE_S = 30 * 24 * 3600


def digest(*parts: str | bytes) -> str:
    """SHA-256 of the parts, each length-prefixed so that ("ab", "c") differs from ("a", "bc")."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def files_digest(files: list[Path], root: Path) -> list[str | bytes]:
    """(name, content) parts for `files`, named relative to `root` where they lie below it."""
    parts: list[str | bytes] = []
    for path in files:
        try:
            name = path.relative_to(root).as_posix()
        except ValueError:
            name = path.as_posix()
        parts += [name, path.read_bytes() if path.is_file() else b"<missing>"]
    return parts


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed versions, read from package metadata (no import); "absent" when not installed."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


class KeyContext:
    """The parts of a key shared by every snippet of one build, computed once."""

    def __init__(self, library_dir: Path, root: Path):
        self.root = root
        self.reach = Reach(library_dir, root)
        self.executor = digest(*[(RWSITE_DIR / name).read_bytes() for name in EXECUTION_FILES])
        self.versions = package_versions()
        self.python = sys.version

    def environment(self) -> str:
        """Hash of everything but the snippet and what it reaches: executor, versions, interpreter."""
        return digest(self.executor, json.dumps(self.versions, sort_keys=True), self.python)

    def key(self, snippet: str, options: dict[str, str]) -> str:
        """The cache key of running `snippet` (a path relative to the root) with `options`."""
        path = self.root / snippet
        parts: list[str | bytes] = [self.environment(), snippet, path.read_bytes()]
        parts += files_digest(self.reach.files(path), self.root)
        parts.append(json.dumps(options, sort_keys=True))
        return digest(*parts)


#: The fields of an entry and their types; anything else read from disk is a miss.
_FIELDS = {"path": str, "stdout": str, "stderr": str, "figures": list, "wall_s": float, "cpu_s": float,
           "device": str, "seed": int, "configuration": str, "values": dict, "claims": list,
           "tables": list, "data": dict}


def entry_problem(record: object, key: str) -> str | None:
    """Why `record` is not a usable entry for `key` (None when it is)."""
    if not isinstance(record, dict):
        return "not a JSON object"
    if record.get("format") != FORMAT or record.get("key") != key:
        return "another format or key"
    for name, kind in _FIELDS.items():
        value = record.get(name)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            return f"{name} is {type(value).__name__}, expected {kind.__name__}"
    if not all(isinstance(svg, str) for svg in record["figures"]):
        return "a figure is not text"
    problem = records_problem(record["values"], record["claims"], record["tables"], record["stdout"], record["data"])
    if problem:
        return problem
    if not all(math.isfinite(record[t]) and record[t] >= 0 for t in ("wall_s", "cpu_s")):
        return "wall_s or cpu_s is not a duration"
    if len(record["stdout"].encode()) + len(record["stderr"].encode()) > MAX_OUTPUT_BYTES:
        return "output over the cap"
    if sum(len(svg.encode()) for svg in record["figures"]) > MAX_FIGURE_BYTES:
        return "figures over the cap"
    return None


def records_problem(values: object, claims: object, tables: object, stdout: str, data: object) -> str | None:
    """Why a run's values, claims, tables and data (`rwsite.claims`, `rwsite.tables`) cannot be
    shown (None when they can): read fresh from a run and again from the cache, by the same rules."""
    from rwsite.claims import data_problem
    from rwsite.tables import MARKER

    if not isinstance(values, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
        return "a value is not text"
    if not isinstance(claims, list) or not all(isinstance(c, dict) and isinstance(c.get("text"), str) for c in claims):
        return "a claim is not a {text, holds} object"
    failed = [c["text"] for c in claims if c.get("holds") is not True]
    if failed:
        return f"a claim did not hold and the snippet went on (was ClaimFailed caught?): {failed[0]}"
    if not isinstance(tables, list) or not all(
            isinstance(t, dict) and isinstance(t.get("headers"), list) and isinstance(t.get("align"), str)
            and len(t["align"]) == len(t["headers"]) and isinstance(t.get("rows"), list)
            and all(isinstance(r, list) and len(r) == len(t["headers"]) for r in t["rows"]) for t in tables):
        return "a table is not {headers, rows, align} with one cell per header"
    markers = [line[len(MARKER):] for line in stdout.split("\n") if line.startswith(MARKER)]
    if sorted(markers) != [str(i) for i in range(len(tables))]:
        return "the printed tables do not match the recorded ones"
    return data_problem(data)


class Store:
    """A directory of entries, one `<key>.json` each, written atomically."""

    def __init__(self, directory: Path):
        self.directory = directory

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def load(self, key: str) -> dict | None:
        """The entry for `key`, or None when it is missing, unreadable, or not of the right shape."""
        try:
            record = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if entry_problem(record, key) is not None:
            return None
        try:
            os.utime(self.path(key))  # last used: what age-based eviction measures
        except OSError:
            pass
        return record

    def save(self, key: str, record: dict) -> None:
        """Write the entry under a temporary name, then rename it into place."""
        self.directory.mkdir(parents=True, exist_ok=True)
        record = {**record, "format": FORMAT, "key": key}
        tmp = self.directory / f".{key}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            tmp.write_text(json.dumps(record), encoding="utf-8")
            os.replace(tmp, self.path(key))
        finally:
            tmp.unlink(missing_ok=True)

    def evict(self, keep: set[str], configuration: str, max_age_s: float = MAX_AGE_S,
              stale_tmp_s: float = 3600) -> int:
        """Delete this configuration's entries not in `keep`, any entry unused for `max_age_s`,
        entries that cannot be read, and old temporary files; return how many entries went.

        Another configuration's entries (a build with another seed, platform or mkdocs.yml on
        the same cache) are left alone: its own builds evict them, or age does."""
        removed = 0
        if not self.directory.is_dir():
            return 0
        now = time.time()
        for path in self.directory.glob("*.json"):
            if path.stem in keep:
                continue
            try:
                old = now - path.stat().st_mtime > max_age_s
                record = json.loads(path.read_text(encoding="utf-8"))
                mine = not isinstance(record, dict) or record.get("configuration") in (configuration, None)
            except (OSError, ValueError):
                old = mine = True
            if old or mine:
                path.unlink(missing_ok=True)
                removed += 1
        for path in self.directory.glob(".*.tmp"):
            try:
                if now - path.stat().st_mtime > stale_tmp_s:
                    path.unlink()
            except OSError:
                pass
        return removed
