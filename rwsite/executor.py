"""The parent side of a snippet run: keys, the cache, a pool for the misses, clear errors.

A page build never runs snippet code in its own process: JAX state, jit caches and pyplot state
must not leak between snippets or into MkDocs. Each run is a fresh `python rwsite/runner.py`
fenced in by `rwsite.sandbox` (a scratch folder, a minimal environment, capped output, every
process it started ended with it). Around it the executor sets ``JAX_PLATFORMS=cpu``
(``RWSITE_JAX_PLATFORMS`` overrides), ``PYTHONHASHSEED`` and ``RWSITE_SEED`` from the seed, the
figure backend and house style, and a persistent XLA compilation cache under
``.cache/jax``: a snippet re-run because a comment changed loads its compiled programs
instead of compiling them again.

`Executor.prefetch` runs all cache misses of a build on `jobs` workers (default: one per core),
in the order `rwsite.schedule` picks; `Executor.get` returns one outcome, from memory, from the
cache, or by running it. A failure never raises here: the outcome carries a one-line error such
as ``snippets/x.py:12: ValueError: bad shape`` and the tail of stderr, and the caller decides.
A run that changed files of the repository fails too (`rwsite.repo.Guard`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from rwsite import sandbox, schedule
from rwsite.cache import MAX_FIGURE_BYTES, MAX_OUTPUT_BYTES, RWSITE_DIR, KeyContext, Store, digest, records_problem
from rwsite.repo import Guard

DEFAULT_TIMEOUT = 300.0
RUNNER = RWSITE_DIR / "runner.py"


@dataclass(frozen=True)
class Run:
    """One snippet to run: the file (relative to the root) and how long it may take."""

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
    cpu_s: float = 0.0  # user + system time of the run and every process it started
    device: str = ""
    seed: int = 0
    cached: bool = False
    error: str | None = None  # one line: "snippets/x.py:12: ValueError: message"
    shared: list[dict] = field(default_factory=list)  # shared results asked for: name, built, seconds
    deferred: str | None = None  # a busy shared result this attempt gave way to (never final)
    values: dict[str, str] = field(default_factory=dict)  # exported for the prose (rwsite.claims)
    claims: list[dict] = field(default_factory=list)  # checked, each {"text", "holds": True}
    tables: list[dict] = field(default_factory=list)  # printed for HTML (rwsite.tables)
    data: dict[str, object] = field(default_factory=dict)  # exported for the page's widgets (rwsite.claims)

    def stderr_tail(self, lines: int = 25) -> str:
        return "\n".join(self.stderr.rstrip().splitlines()[-lines:])

    @property
    def own_s(self) -> float:
        """Wall time minus the time spent inside `shared()` (building or waiting for a result)."""
        return max(0.0, self.wall_s - sum(float(e.get("seconds", 0)) for e in self.shared))

    @property
    def own_cpu_s(self) -> float:
        """CPU time minus what went into `shared()` (building a result): the snippet's own work."""
        return max(0.0, self.cpu_s - sum(float(e.get("cpu_s", 0)) for e in self.shared))


class Executor:
    """Runs snippets under `root` and caches their outcomes under `cache_dir/snippets`."""

    def __init__(self, root: str | Path = ".", *, library_dir: str | Path | None = None,
                 cache_dir: str | Path | None = None, jobs: int | None = None, seed: int = 0,
                 platforms: str | None = None, python: str = sys.executable, configuration: str = "",
                 guard_skip: tuple[Path, ...] = (), guard: bool = True):
        self.root = Path(root).resolve()
        self.library_dir = Path(library_dir).resolve() if library_dir else self.root / "rawweights_jax"
        self.cache_dir = Path(cache_dir or os.environ.get("RWSITE_CACHE_DIR") or self.root / ".cache").resolve()
        self.store = Store(self.cache_dir / "snippets")
        self.timings = schedule.Timings(self.cache_dir / "timings.json")
        self.jobs = max(1, jobs or int(os.environ.get("RWSITE_JOBS", 0)) or os.cpu_count() or 1)
        self.seed = seed
        self.platforms = platforms or os.environ.get("RWSITE_JAX_PLATFORMS", "cpu")
        self.python = python
        # Whose entries eviction may remove: builds with another seed, platform or mkdocs.yml
        # share the cache without evicting each other.
        self.configuration = digest(str(self.root), configuration, self.platforms, str(seed), python)
        self.guard = Guard(self.root, (self.cache_dir, *guard_skip)) if guard else None
        self.outcomes: dict[Run, Outcome] = {}
        self.ran_wall_s = 0.0  # wall-clock time of the parallel pre-pass, for the report
        self._lock = threading.Lock()
        self._context: KeyContext | None = None
        self._keys: dict[str, str] = {}
        self._in_flight: set[Run] = set()
        self._suspects: dict[Run, str] = {}  # run -> what changed while it ran, and with whom

    @property
    def context(self) -> KeyContext:
        if self._context is None:
            self._context = KeyContext(self.library_dir, self.root)
        return self._context

    def key(self, run: Run) -> str:
        with self._lock:
            if run.path not in self._keys:
                options = {"seed": self.seed, "platforms": self.platforms}
                self._keys[run.path] = self.context.key(run.path, options)
            return self._keys[run.path]

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
            known = self._cached(run) or self._execute(run, may_defer=False)
            with self._lock:
                self.outcomes[run] = known
        return known

    def prefetch(self, runs: list[Run], announce=None, progress=None) -> None:
        """Load every run's outcome, executing the cache misses in parallel.

        Fences that embed one file with different timeouts share one run (the longest timeout).
        `announce(misses, workers)` is called before the misses start, and `progress(done,
        misses, outcome)` as each one finishes, in the order they finish: a cold build runs for
        minutes, and the waiting user sees which snippets are done and how long each took.
        """
        by_path: dict[str, list[Run]] = {}
        for run in dict.fromkeys(runs):
            if run not in self.outcomes:
                cached = self._cached(run)
                if cached is not None:
                    self.outcomes[run] = cached
                else:
                    by_path.setdefault(run.path, []).append(run)
        if not by_path:
            return
        longest = {path: max(group, key=lambda r: r.timeout) for path, group in by_path.items()}
        hints = {path: schedule.guess_shared((self.root / path).resolve(),
                                             self.context.reach.importers(self.root / path, "rwsite.shared"))
                 for path in longest}
        order = schedule.plan(list(longest), self.timings.load(), hints)
        workers = min(self.jobs, len(order))
        if announce:
            announce(len(order), workers)
        finished = 0
        start = time.perf_counter()

        def done(outcome: Outcome) -> None:
            nonlocal finished
            with self._lock:
                for run in by_path[outcome.run.path]:
                    self.outcomes[run] = dataclasses.replace(outcome, run=run)
                finished += 1
                count = finished
            if progress:
                progress(count, len(order), outcome)

        schedule.run_all([longest[p] for p in order], workers, self._attempt, done)
        self.ran_wall_s += time.perf_counter() - start

    def report(self, slowest: int = 5) -> list[str]:
        """A few lines for the end of a build (see `rwsite.report.summary`)."""
        from rwsite.report import summary

        return summary(self, slowest)

    def used_keys(self) -> set[str]:
        return {o.key for o in self.outcomes.values() if o.key}

    def evict(self, keep: set[str] | None = None) -> int:
        """Remove this configuration's entries not in `keep` (default: those used), and old ones."""
        return self.store.evict(self.used_keys() if keep is None else keep, self.configuration)

    def _cached(self, run: Run) -> Outcome | None:
        """The outcome from disk, an error outcome for a missing file, or None (a miss)."""
        problem = self.missing(run)
        if problem:
            return Outcome(run, key="", error=problem)
        record = self.store.load(self.key(run))
        if record is None:
            return None
        fields = {k: record[k] for k in ("stdout", "stderr", "figures", "wall_s", "cpu_s", "device", "seed",
                                         "values", "claims", "tables", "data")}
        return Outcome(run, key=record["key"], cached=True, **fields)

    def _attempt(self, run: Run, may_defer: bool) -> Outcome:
        try:
            return self._execute(run, may_defer)
        except Exception as exc:  # a bug here must fail the snippet, not hang the pool
            return Outcome(run, key="", error=f"{run.path}: the executor failed: {type(exc).__name__}: {exc}")

    def environment(self, key: str, figure_dir: str, may_defer: bool = False) -> dict[str, str]:
        """The whole environment of a snippet process (see `rwsite.sandbox.PASSED_THROUGH`)."""
        jax_cache = self.cache_dir / "jax"
        return sandbox.minimal_environment({
            "JAX_PLATFORMS": self.platforms,
            "PYTHONHASHSEED": str(self.seed),
            "RWSITE_SEED": str(self.seed),
            "PYTHONUNBUFFERED": "1",
            "MPLBACKEND": "module://rwsite.mpl_backend",
            "MATPLOTLIBRC": str(RWSITE_DIR / "matplotlibrc"),
            "MPLCONFIGDIR": str(self.cache_dir / "matplotlib"),  # its font cache, built once
            "RWSITE_FIGURE_DIR": figure_dir,
            "RWSITE_FIGURE_SALT": f"rw{key[:10]}",
            "RWSITE_REPO": str(self.root),
            "RWSITE_LIBRARY_DIR": str(self.library_dir),
            "RWSITE_CACHE_DIR": str(self.cache_dir),
            "RWSITE_SHARED_DEFER": "1" if may_defer else "0",
            "RWSITE_TABLES": "1",                # rwsite.tables: print a marker, keep the table
            # Every program is cached, however small or quick to compile: CPU programs of a
            # snippet compile in tens of milliseconds each, and there are hundreds of them.
            "JAX_COMPILATION_CACHE_DIR": str(jax_cache),
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1",
            "JAX_COMPILATION_CACHE_MAX_SIZE": str(2 << 30),  # least recently used go past 2 GiB
        })

    def _execute(self, run: Run, may_defer: bool) -> Outcome:
        problem = self.missing(run)
        if problem:
            return Outcome(run, key="", error=problem)
        key = self.key(run)
        if self.guard:
            with self._lock:
                self.guard.start()
                self._in_flight.add(run)
        try:
            with tempfile.TemporaryDirectory(prefix="rwsite-") as tmp:
                outcome = self._run_process(run, key, Path(tmp), may_defer)
        finally:
            self._check_repository(run)
        with self._lock:
            blame = self._suspects.pop(run, None) if not outcome.deferred else None
        if blame and outcome.error is None:
            outcome.error = f"{run.path}{blame}"
        if outcome.deferred:
            return outcome
        if outcome.error is None or outcome.error == f"{run.path}: timed out after {run.timeout:g} s":
            self.timings.record(run.path, outcome.wall_s, outcome.cpu_s, outcome.shared)
        if outcome.error is None:
            self.store.save(key, {
                "path": run.path, "stdout": outcome.stdout, "stderr": outcome.stderr,
                "figures": outcome.figures, "wall_s": outcome.wall_s, "cpu_s": outcome.cpu_s, "device": outcome.device,
                "seed": outcome.seed, "configuration": self.configuration,
                "values": outcome.values, "claims": outcome.claims, "tables": outcome.tables,
                "data": outcome.data, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            })
        return outcome

    def _check_repository(self, run: Run) -> None:
        """Blame changes to the repository on every run in flight since the last check."""
        if not self.guard:
            return
        with self._lock:
            changes = self.guard.changes()
            if changes:
                for suspect in self._in_flight:
                    others = sorted(r.path for r in self._in_flight if r != suspect)
                    self._suspects[suspect] = (
                        f" changed files of the repository: {', '.join(changes)}"
                        + (f" (or {', '.join(others)}, which ran at the same time, did)" if others else "")
                        + "; a snippet writes into its working folder or .cache/, never into the sources"
                        " (if you edited them yourself during the build, build again)")
            self._in_flight.discard(run)

    def _run_process(self, run: Run, key: str, tmp: Path, may_defer: bool) -> Outcome:
        figure_dir, work = tmp / "figures", tmp / "work"
        figure_dir.mkdir()
        work.mkdir()
        result_file = tmp / "result.json"
        snippet = self.root / run.path
        finished = sandbox.run([self.python, str(RUNNER), str(snippet), str(result_file)], cwd=work,
                               env=self.environment(key, str(figure_dir), may_defer),
                               timeout=run.timeout, max_output=MAX_OUTPUT_BYTES)
        outcome = Outcome(run, key=key, stdout=finished.stdout.decode("utf-8", "replace"),
                          stderr=finished.stderr.decode("utf-8", "replace"), wall_s=finished.wall_s,
                          cpu_s=finished.cpu_s, seed=self.seed)
        if finished.over_cap:
            outcome.error = (f"{run.path}: printed more than {MAX_OUTPUT_BYTES / 1e6:g} MB (stdout and stderr "
                             f"together) and was stopped; print a summary instead")
            return outcome
        if finished.timed_out:
            outcome.error = f"{run.path}: timed out after {run.timeout:g} s"
            return outcome
        try:
            result = json.loads(result_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            outcome.error = f"{run.path}: {_exit_description(finished.returncode)} before recording a result"
            return outcome
        outcome.device = str(result.get("device", ""))
        outcome.shared = [e for e in result.get("shared") or [] if isinstance(e, dict)]
        if result.get("deferred"):
            outcome.deferred = str(result["deferred"])
            return outcome
        if result.get("error"):
            e = result["error"]
            where = f"{run.path}:{e['line']}" if e.get("line") else run.path
            message = (e.get("message") or "").strip().splitlines()
            outcome.error = f"{where}: {e['type']}: {message[0] if message else ''}".rstrip(": ")
            return outcome
        values, claims, tables = result.get("values") or {}, result.get("claims") or [], result.get("tables") or []
        data = result.get("data") or {}
        problem = records_problem(values, claims, tables, outcome.stdout, data)
        if problem:
            outcome.error = f"{run.path}: {problem}"
            return outcome
        outcome.values, outcome.claims, outcome.tables, outcome.data = values, claims, tables, data
        svgs = sorted(figure_dir.glob("figure-*.svg"))
        size = sum(p.stat().st_size for p in svgs)
        if size > MAX_FIGURE_BYTES:
            outcome.error = (f"{run.path}: its {len(svgs)} figure(s) take {size / 1e6:.1f} MB of SVG, over the "
                             f"{MAX_FIGURE_BYTES / 1e6:g} MB cap; plot fewer points (or rasterize dense artists)")
            return outcome
        outcome.figures = [p.read_text(encoding="utf-8") for p in svgs]
        return outcome


def _exit_description(code: int | None) -> str:
    if code is not None and code > 128:  # the supervisor reports a signal N as 128 + N
        try:
            return f"was killed by {signal.Signals(code - 128).name}"
        except ValueError:
            return f"was killed by signal {code - 128}"
    if code is not None and code < 0:
        return f"was killed by signal {-code}"
    return f"exited with status {code}"
