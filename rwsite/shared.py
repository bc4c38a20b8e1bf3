"""Expensive results several snippets need (a trained model), built once per content hash.

    from rwsite.shared import shared

    def train(out: Path) -> None:          # writes its result into the empty folder `out`
        ...

    ckpt_dir = shared("robot-student", key_parts=["shakespeare-char-cpu", 2000], build=train)

`shared` returns `.cache/shared/<name>-<hash>/`, a folder that `build` filled. The hash covers
the name, `key_parts`, the source of `build` (when Python can read it) and the files reached
from the file that defines `build` (`rwsite.reach`: the library modules it imports,
transitively, and the helper modules beside it), so changing the recipe or a library module
it reaches builds anew, and nothing else does (editing the CLI retrains nothing). Whatever else
the result depends on (a preset, a step count, a data file's checksum) goes in `key_parts`.

Two snippets that ask at once (the build runs snippets in parallel) build it once: an exclusive
`fcntl` lock per result is held while building, and the second caller finds the result done.
The result appears atomically: `build` writes into a temporary folder, which is renamed into
place after it returns; if `build` raises, nothing is left behind and the error propagates.
Under the site build (``RWSITE_SHARED_DEFER=1``, set when other snippets wait for a worker) a
busy lock raises `SharedBusy` instead of waiting, and the executor runs that snippet again
once the result is there (`rwsite.schedule`). Each call is noted in `EVENTS` (name, whether this
process built it, wall and CPU seconds spent here), which the runner records for the scheduler
and the build budget.

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

from rwsite.cache import digest, files_digest
from rwsite.reach import Reach

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_DONE = ".complete"

#: One entry per call in this process: {"name", "built", "seconds", "cpu_s"} (read by rwsite/runner.py).
EVENTS: list[dict] = []


class SharedBusy(BaseException):
    """Another process is building this result and the executor asked not to wait (deferral).
    A BaseException, so that a snippet's `except Exception` does not swallow it."""


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


def repo_root() -> Path:
    """The repository the snippet belongs to: ``$RWSITE_REPO``, else the one holding rwsite."""
    return Path(os.environ.get("RWSITE_REPO") or Path(__file__).resolve().parents[1])


def shared_key(name: str, key_parts: Sequence = (), build: Callable | None = None) -> str:
    """The content hash that names a shared result."""
    try:
        recipe = inspect.getsource(build) if build is not None else ""
    except (OSError, TypeError):
        recipe = getattr(build, "__qualname__", repr(build))
    try:
        source = Path(inspect.getsourcefile(build)).resolve() if build is not None else None
    except (OSError, TypeError):
        source = None
    lib, root = library_dir(), repo_root()
    reached = Reach(lib, root).files(source) if source and source.is_file() else []
    return digest(name, json.dumps([str(p) for p in key_parts]), recipe,
                  *files_digest(reached, root), "library" if lib else "no-library")


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
    event = {"name": name, "built": False, "seconds": 0.0, "cpu_s": 0.0}
    EVENTS.append(event)
    start, cpu = time.perf_counter(), time.process_time()
    try:
        if (final / _DONE).is_file():
            return final
        root.mkdir(parents=True, exist_ok=True)
        with open(root / f".{final.name}.lock", "w") as lock:
            _acquire(lock, name)  # released when the file closes, also if we crash
            if (final / _DONE).is_file():  # someone else built it while we waited
                return final
            _build(final, build, name, key_parts)
            event["built"] = True
        return final
    finally:  # wall time (waiting included) and this process's CPU time (all its threads)
        event["seconds"] = round(time.perf_counter() - start, 3)
        event["cpu_s"] = round(time.process_time() - cpu, 3)


def _acquire(lock, name: str) -> None:
    """Take the lock; under deferral, give up at once when another process holds it."""
    if os.environ.get("RWSITE_SHARED_DEFER") == "1":
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            raise SharedBusy(name) from None
    fcntl.flock(lock, fcntl.LOCK_EX)


def _build(final: Path, build: Callable[[Path], object], name: str, key_parts: Sequence) -> None:
    """Run `build` in a temporary folder and rename it into place when it returns."""
    root = final.parent
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
