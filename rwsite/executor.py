"""The parent side of a snippet run: subprocesses, timeouts, a pool for cache misses, clear errors.

A page build never runs snippet code in its own process: JAX state, jit caches and pyplot state
must not leak between snippets or into MkDocs. Each run is a fresh `python rwsite/runner.py`
with the repository root as its working directory, whose stdout and stderr are files (captured
at the file-descriptor level), in a process group of its own so a timeout kills everything it
started. The environment is fixed: ``JAX_PLATFORMS=cpu`` (``RWSITE_JAX_PLATFORMS`` overrides),
``PYTHONHASHSEED`` and ``RWSITE_SEED`` from the seed, the figure backend and house style.

`Executor.prefetch` runs all cache misses of a build at once on `jobs` workers (default: one per
core); `Executor.get` returns one outcome, from memory, from the cache, or by running it.
A failure never raises here: the outcome carries a one-line error such as
``snippets/x.py:12: ValueError: bad shape`` and the tail of stderr, and the caller decides.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from rwsite.cache import RWSITE_DIR, KeyContext, Store

DEFAULT_TIMEOUT = 300.0
RUNNER = RWSITE_DIR / "runner.py"


@dataclass(frozen=True)
class Run:
    """One snippet run: the file (relative to the root) and the options that change its output."""

    path: str
    timeout: float = DEFAULT_TIMEOUT


@dataclass
class Outcome:
    """What a run printed and drew, how long it took, and whether it failed."""

    run: Run
    key: str
    stdout: str = ""
    stderr: str = ""
    figures: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    device: str = ""
    seed: int = 0
    cached: bool = False
    error: str | None = None  # one line: "snippets/x.py:12: ValueError: message"

    def stderr_tail(self, lines: int = 25) -> str:
        return "\n".join(self.stderr.rstrip().splitlines()[-lines:])


class Executor:
    """Runs snippets under `root` and caches their outcomes under `cache_dir/snippets`."""

    def __init__(self, root: str | Path = ".", *, library_dir: str | Path | None = None,
                 cache_dir: str | Path | None = None, jobs: int | None = None, seed: int = 0,
                 platforms: str | None = None, python: str = sys.executable):
        self.root = Path(root).resolve()
        self.library_dir = Path(library_dir).resolve() if library_dir else self.root / "rawweights_jax"
        self.cache_dir = Path(cache_dir or os.environ.get("RWSITE_CACHE_DIR") or self.root / ".cache").resolve()
        self.store = Store(self.cache_dir / "snippets")
        self.jobs = max(1, jobs or int(os.environ.get("RWSITE_JOBS", 0)) or os.cpu_count() or 1)
        self.seed = seed
        self.platforms = platforms or os.environ.get("RWSITE_JAX_PLATFORMS", "cpu")
        self.python = python
        self.outcomes: dict[Run, Outcome] = {}
        self.ran_wall_s = 0.0  # wall-clock time of the parallel pre-pass, for the report
        self._lock = threading.Lock()
        self._context: KeyContext | None = None

    @property
    def context(self) -> KeyContext:
        if self._context is None:
            self._context = KeyContext(self.library_dir)
        return self._context

    def key(self, run: Run) -> str:
        options = {"timeout": run.timeout, "seed": self.seed, "platforms": self.platforms}
        return self.context.key(self.root, run.path, options)

    def missing(self, run: Run) -> str | None:
        """An error line when the snippet file does not exist, else None."""
        if not (self.root / run.path).is_file():
            return f"{run.path}: no such snippet file (paths are relative to {self.root})"
        return None

    def get(self, run: Run) -> Outcome:
        """The outcome of `run`: remembered, cached on disk, or freshly executed."""
        with self._lock:
            known = self.outcomes.get(run)
        if known is None:
            known = self._resolve(run)
            with self._lock:
                self.outcomes[run] = known
        return known

    def prefetch(self, runs: list[Run], announce=None, progress=None) -> None:
        """Load every run's outcome, executing the cache misses in parallel.

        `announce(misses, workers)` is called before the misses start, and `progress(done,
        misses, outcome)` as each one finishes, in the order they finish: a cold build runs for
        many minutes, and the waiting user sees which snippets are done and how long each took.
        """
        todo = [run for run in dict.fromkeys(runs) if run not in self.outcomes]
        misses = []
        for run in todo:
            problem = self.missing(run)
            record = None if problem else self.store.load(self.key(run))
            if problem:
                self.outcomes[run] = Outcome(run, key="", error=problem)
            elif record is not None:
                self.outcomes[run] = self._from_record(run, record)
            else:
                misses.append(run)
        if misses:
            if announce:
                announce(len(misses), min(self.jobs, len(misses)))
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=min(self.jobs, len(misses))) as pool:
                futures = [pool.submit(self._execute, run) for run in misses]
                for done, future in enumerate(as_completed(futures), start=1):
                    outcome = future.result()
                    self.outcomes[outcome.run] = outcome
                    if progress:
                        progress(done, len(misses), outcome)
            self.ran_wall_s += time.perf_counter() - start

    def used_keys(self) -> set[str]:
        return {o.key for o in self.outcomes.values() if o.key}

    def evict(self, keep: set[str] | None = None) -> int:
        """Remove cache entries not in `keep` (default: those this executor used)."""
        return self.store.evict(self.used_keys() if keep is None else keep)

    def _resolve(self, run: Run) -> Outcome:
        problem = self.missing(run)
        if problem:
            return Outcome(run, key="", error=problem)
        record = self.store.load(self.key(run))
        return self._from_record(run, record) if record is not None else self._execute(run)

    def _from_record(self, run: Run, record: dict) -> Outcome:
        fields = {k: record[k] for k in ("stdout", "stderr", "figures", "wall_s", "device", "seed")}
        return Outcome(run, key=record["key"], cached=True, **fields)

    def _environment(self, key: str, figure_dir: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            JAX_PLATFORMS=self.platforms,
            PYTHONHASHSEED=str(self.seed),
            RWSITE_SEED=str(self.seed),
            PYTHONUNBUFFERED="1",
            MPLBACKEND="module://rwsite.mpl_backend",
            MATPLOTLIBRC=str(RWSITE_DIR / "matplotlibrc"),
            RWSITE_FIGURE_DIR=figure_dir,
            RWSITE_FIGURE_SALT=f"rw{key[:10]}",
            RWSITE_LIBRARY_DIR=str(self.library_dir),
            RWSITE_CACHE_DIR=str(self.cache_dir),
        )
        return env

    def _execute(self, run: Run) -> Outcome:
        key = self.key(run)
        with tempfile.TemporaryDirectory(prefix="rwsite-") as tmp:
            tmp_path = Path(tmp)
            figure_dir = tmp_path / "figures"
            figure_dir.mkdir()
            result_file = tmp_path / "result.json"
            with open(tmp_path / "stdout", "w+b") as out, open(tmp_path / "stderr", "w+b") as err:
                start = time.perf_counter()
                proc = subprocess.Popen(
                    [self.python, str(RUNNER), run.path, str(result_file)],
                    cwd=self.root, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                    env=self._environment(key, str(figure_dir)), start_new_session=True)
                timed_out = False
                try:
                    proc.wait(timeout=run.timeout)
                except subprocess.TimeoutExpired:
                    timed_out = True
                    os.killpg(proc.pid, signal.SIGKILL)  # the whole group: no orphaned workers
                    proc.wait()
                wall_s = time.perf_counter() - start
                out.seek(0)
                err.seek(0)
                stdout = out.read().decode("utf-8", "replace")
                stderr = err.read().decode("utf-8", "replace")
            outcome = Outcome(run, key=key, stdout=stdout, stderr=stderr, wall_s=wall_s, seed=self.seed)
            if timed_out:
                outcome.error = f"{run.path}: timed out after {run.timeout:g} s"
                return outcome
            try:
                result = json.loads(result_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                outcome.error = f"{run.path}: {_exit_description(proc.returncode)} before recording a result"
                return outcome
            outcome.device = result.get("device", "")
            if result.get("error"):
                e = result["error"]
                where = f"{run.path}:{e['line']}" if e.get("line") else run.path
                message = (e.get("message") or "").strip().splitlines()
                outcome.error = f"{where}: {e['type']}: {message[0] if message else ''}".rstrip(": ")
                return outcome
            outcome.figures = [p.read_text(encoding="utf-8") for p in sorted(figure_dir.glob("figure-*.svg"))]
        self.store.save(key, {
            "path": run.path, "stdout": outcome.stdout, "stderr": outcome.stderr,
            "figures": outcome.figures, "wall_s": outcome.wall_s, "device": outcome.device,
            "seed": outcome.seed, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        })
        return outcome

    def report(self, slowest: int = 5) -> list[str]:
        """A few lines for the end of a build: counts, cache hits, the slowest runs."""
        outcomes = [o for o in self.outcomes.values() if o.key]
        hits = sum(o.cached for o in outcomes)
        fresh = [o for o in outcomes if not o.cached]
        failed = sum(o.error is not None for o in self.outcomes.values())
        lines = [
            f"snippets: {len(outcomes)} used, {hits} from cache, {len(fresh)} run "
            f"({sum(o.wall_s for o in fresh):.1f} s of work, {self.ran_wall_s:.1f} s wall on "
            f"{self.jobs} workers), {failed} failed"
        ]
        for o in sorted(outcomes, key=lambda o: -o.wall_s)[:slowest]:
            lines.append(f"  {o.wall_s:7.2f} s  {o.run.path}  ({'cached' if o.cached else 'fresh'})")
        return lines


def _exit_description(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"
