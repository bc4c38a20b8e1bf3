"""Expensive results several snippets need (a trained model), built once per content hash.

    from rwsite.shared import shared

    def train(out: Path) -> None:          # writes its result into the empty folder `out`
        ...

    ckpt_dir = shared("robot-student", key_parts=["shakespeare-char-cpu", 2000], build=train)

`shared` returns `.cache/shared/<name>-<hash>/`, a folder that `build` filled. The hash covers
the name, `key_parts`, the source of `build` (when Python can read it) and the whole library
source, so changing the library or the recipe builds anew, and nothing else does. Whatever else
the result depends on (a preset, a step count, a data file's checksum) goes in `key_parts`.

Two snippets that ask at once (the build runs snippets in parallel) build it once: an exclusive
`fcntl` lock per result is held while building, and the second caller finds the result done.
The result appears atomically: `build` writes into a temporary folder, which is renamed into
place after it returns; if `build` raises, nothing is left behind and the error propagates.

Where: ``$RWSITE_SHARED_DIR``, else ``$RWSITE_CACHE_DIR/shared``, else ``.cache/shared`` at the
repository root. Which library: ``$RWSITE_LIBRARY_DIR``, else the installed `rawweights_jax`.
Old results are not deleted automatically; ``rm -rf .cache/shared`` is always safe.
"""

from __future__ import annotations

import fcntl
import importlib.util
import inspect
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rwsite.cache import digest, tree_digest

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_DONE = ".complete"


def shared_root() -> Path:
    """The folder holding shared results (see the module docstring for the lookup order)."""
    if os.environ.get("RWSITE_SHARED_DIR"):
        return Path(os.environ["RWSITE_SHARED_DIR"])
    cache = os.environ.get("RWSITE_CACHE_DIR") or Path(__file__).resolve().parents[1] / ".cache"
    return Path(cache) / "shared"


def library_dir() -> Path | None:
    """The library source folder whose content keys every shared result."""
    if os.environ.get("RWSITE_LIBRARY_DIR"):
        return Path(os.environ["RWSITE_LIBRARY_DIR"])
    spec = importlib.util.find_spec("rawweights_jax")  # finds, does not import
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def shared_key(name: str, key_parts: Sequence = (), build: Callable | None = None) -> str:
    """The content hash that names a shared result."""
    try:
        recipe = inspect.getsource(build) if build is not None else ""
    except (OSError, TypeError):
        recipe = getattr(build, "__qualname__", repr(build))
    lib = library_dir()
    return digest(name, json.dumps([str(p) for p in key_parts]), recipe,
                  tree_digest(lib) if lib else "no-library")


def shared(name: str, *, build: Callable[[Path], object], key_parts: Sequence = ()) -> Path:
    """Return the folder holding `build`'s result for this content, building it at most once.

    Args:
        name: a short label, letters, digits, `-`, `_` and `.`; it starts the folder name.
        build: called as ``build(folder)`` with an empty folder to fill; its return value is ignored.
        key_parts: anything else the result depends on; each part is hashed as ``str(part)``.
    """
    if not _NAME.match(name):
        raise ValueError(f"shared result name {name!r}: use letters, digits, '-', '_' or '.'")
    root = shared_root()
    final = root / f"{name}-{shared_key(name, key_parts, build)[:16]}"
    if (final / _DONE).is_file():
        return final
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{final.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if we crash
        if (final / _DONE).is_file():  # someone else built it while we waited
            return final
        tmp = root / f".{final.name}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            start = time.perf_counter()
            build(tmp)
            (tmp / _DONE).write_text(json.dumps({
                "name": name, "key_parts": [str(p) for p in key_parts],
                "build_s": round(time.perf_counter() - start, 3),
            }))
            shutil.rmtree(final, ignore_errors=True)  # an unfinished leftover, never a done one
            os.rename(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final
