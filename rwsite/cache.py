"""What a snippet's output depends on, hashed into one key, and where the output is kept.

An output on disk is reused only while nothing that could change it has changed. The key hashes:

- the snippet file itself;
- the local helper modules it imports from its own folder, found by reading its `import`
  statements (and theirs, transitively): `python snippets/x/y.py` puts `snippets/x/` first on
  `sys.path`, so those are the only local modules a snippet can reach;
- the whole library source (`rawweights_jax/**/*.py`);
- the executor's own source (the files that decide how a snippet runs and what is recorded);
- the versions of the packages that compute or draw, and the interpreter;
- the run options (timeout, seed, JAX platform).

Hashing reads files and package metadata only; nothing is imported, so a rebuild that changes
nothing costs milliseconds here. Entries are single JSON files written atomically (temporary name,
then `os.replace`); one that cannot be read or does not match its key counts as missing.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import sys
import time
import uuid
from importlib import metadata
from pathlib import Path

#: Packages whose versions are part of every key (and of the provenance line).
PACKAGES = ("jax", "jaxlib", "flax", "optax", "numpy", "matplotlib")

#: The executor's files that decide how a snippet runs and what is recorded. Editing the
#: renderer (fence.py) or the hooks re-renders pages but does not re-run snippets.
RWSITE_DIR = Path(__file__).resolve().parent
EXECUTION_FILES = ("cache.py", "executor.py", "runner.py", "mpl_backend.py", "matplotlibrc", "shared.py")

#: Bumped when the layout of an entry changes; older entries then read as missing.
FORMAT = 1


def digest(*parts: str | bytes) -> str:
    """SHA-256 of the parts, each length-prefixed so that ("ab", "c") differs from ("a", "bc")."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def tree_digest(root: Path, pattern: str = "**/*.py") -> str:
    """Hash of the relative names and contents of the files under `root` matching `pattern`."""
    parts: list[str | bytes] = []
    if root.is_dir():
        for path in sorted(root.glob(pattern)):
            if path.is_file() and "__pycache__" not in path.parts:
                parts += [path.relative_to(root).as_posix(), path.read_bytes()]
    return digest(*parts)


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed versions, read from package metadata (no import); "absent" when not installed."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def local_imports(snippet: Path) -> list[Path]:
    """The helper modules `snippet` imports from its own folder, transitively, sorted.

    A name counts when `<folder>/<name>.py` or a package folder `<folder>/<name>/` exists; a
    package contributes all of its `.py` files. A file that does not parse contributes nothing
    here: running it reports the syntax error with its line.
    """
    folder = snippet.parent
    found: set[Path] = set()
    todo = [snippet]
    while todo:
        try:
            tree = ast.parse(todo.pop().read_bytes())
        except (SyntaxError, ValueError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                module, package = folder / f"{top}.py", folder / top
                files = [module] if module.is_file() else sorted(package.rglob("*.py")) if package.is_dir() else []
                for path in files:
                    if path != snippet and path not in found:
                        found.add(path)
                        todo.append(path)
    return sorted(found)


class KeyContext:
    """The parts of a key shared by every snippet of one build, computed once."""

    def __init__(self, library_dir: Path):
        self.library_dir = library_dir
        self.library = tree_digest(library_dir)
        self.executor = digest(*[(RWSITE_DIR / name).read_bytes() for name in EXECUTION_FILES])
        self.versions = package_versions()
        self.python = sys.version

    def environment(self) -> str:
        """Hash of everything but the snippet: library, executor, package versions, interpreter."""
        return digest(self.library, self.executor, json.dumps(self.versions, sort_keys=True), self.python)

    def key(self, root: Path, snippet: str, options: dict[str, str]) -> str:
        """The cache key of running `snippet` (a path relative to `root`) with `options`."""
        path = root / snippet
        parts: list[str | bytes] = [self.environment(), snippet, path.read_bytes()]
        for helper in local_imports(path):
            parts += [helper.relative_to(root).as_posix(), helper.read_bytes()]
        parts.append(json.dumps(options, sort_keys=True))
        return digest(*parts)


class Store:
    """A directory of entries, one `<key>.json` each, written atomically."""

    def __init__(self, directory: Path):
        self.directory = directory

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def load(self, key: str) -> dict | None:
        """The entry for `key`, or None when it is missing, unreadable, or not this key's."""
        try:
            record = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("format") != FORMAT or record.get("key") != key:
            return None
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

    def evict(self, keep: set[str], stale_tmp_s: float = 3600) -> int:
        """Delete entries whose key is not in `keep` (and old temporary files); return how many."""
        removed = 0
        if not self.directory.is_dir():
            return 0
        for path in self.directory.glob("*.json"):
            if path.stem not in keep:
                path.unlink(missing_ok=True)
                removed += 1
        for path in self.directory.glob(".*.tmp"):
            try:
                if time.time() - path.stat().st_mtime > stale_tmp_s:
                    path.unlink()
            except OSError:
                pass
        return removed
