"""Which cache miss runs when: shared results first, then longest first, and no worker idle on a lock.

A cold build is a packing problem on a few cores. Three habits keep it short:

- **Recorded run times.** Every run's wall time, and the shared results it asked for, are kept
  per snippet path in `.cache/timings.json`. That file is not a cache entry: eviction leaves it,
  and an edited snippet keeps its history, which is the best guess of its next run time.
- **Shared results first, then longest first.** A snippet that builds a shared result others
  wait for (the robot student) starts before everything else; the rest start longest first, so
  the short ones fill the gaps at the end instead of one long run starting last. A snippet never
  seen before counts as long: it may be, and it may build something. On a first build, with
  no times recorded, the names in the `shared("name", ...)` calls a snippet can reach (read from
  the source) stand in for the record: one snippet per result starts first.
- **No worker idle on a lock.** Two snippets asking for the same unbuilt shared result would
  leave one worker blocked for the whole build. With other work waiting, the executor lets a
  run *defer* (`RWSITE_SHARED_DEFER=1`): `rwsite.shared` then gives up at once when another
  process holds the lock, the run ends with "deferred", and it is queued again, at the front,
  as soon as a run that asked for that result finishes. With nothing else to do, a run waits
  on the lock as usual.
"""

from __future__ import annotations

import ast
import fcntl
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path


class Timings:
    """Run times per snippet path, shared by builds (a file, merged under a lock)."""

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> dict[str, dict]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}

    def record(self, snippet: str, wall_s: float, cpu_s: float, shared: list[dict]) -> None:
        """Remember one finished run: its wall and CPU time and the shared results it asked for."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self.load()
            data[snippet] = {"wall_s": round(wall_s, 3), "cpu_s": round(cpu_s, 3), "shared": by_name(shared),
                             "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.path)


def by_name(events: list[dict]) -> dict[str, dict]:
    """A run's `shared()` calls per result: a snippet may ask for one result several times
    (the build, then each later look-up), and only together do they say who built it."""
    out: dict[str, dict] = {}
    for e in events:
        if isinstance(e, dict) and "name" in e:
            seen = out.setdefault(str(e["name"]), {"built": False, "seconds": 0.0, "cpu_s": 0.0})
            seen["built"] = seen["built"] or bool(e.get("built"))
            seen["seconds"] = round(seen["seconds"] + float(e.get("seconds", 0)), 3)
            seen["cpu_s"] = round(seen["cpu_s"] + float(e.get("cpu_s", 0)), 3)
    return out


def guess_shared(snippet: Path, askers: list[Path]) -> list[str]:
    """The shared results a snippet never run will likely ask for, read from the source: the
    literal names of the `shared("name", ...)` calls in it, and in the functions it imports
    from the helpers in `askers` (following calls between a helper's functions). A name that
    is not a literal counts as "<helper>:?"."""
    asks: dict[str, set[str]] = {}  # helper module name . function -> results
    for helper in askers:
        if helper == snippet:
            continue
        for function, names in _asks_per_function(helper).items():
            asks[f"{helper.stem}.{function}"] = names
    try:
        tree = ast.parse(snippet.read_bytes())
    except (SyntaxError, ValueError, OSError):
        return []
    found = set().union(*_asks_per_function(snippet, tree).values()) if snippet in askers else set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and not node.level and node.module:
            for alias in node.names:
                found |= asks.get(f"{node.module}.{alias.name}", set())
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            found |= asks.get(f"{node.value.id}.{node.attr}", set())
    return sorted(found)


def _asks_per_function(path: Path, tree: ast.Module | None = None) -> dict[str, set[str]]:
    """Function name (and "" for module level) -> the shared results it asks for, directly or
    through the file's other functions."""
    try:
        tree = tree or ast.parse(path.read_bytes())
    except (SyntaxError, ValueError, OSError):
        return {}
    bodies = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    direct: dict[str, set[str]] = {}
    calls: dict[str, set[str]] = {}
    for name, node in [("", ast.Module([n for n in tree.body if n not in bodies.values()], [])), *bodies.items()]:
        direct[name], calls[name] = set(), set()
        for call in (c for c in ast.walk(node) if isinstance(c, ast.Call)):
            callee = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
            if callee == "shared":
                first = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "name"), None)
                literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
                direct[name].add(first.value if literal else f"{path.stem}:?")
            elif callee in bodies:
                calls[name].add(callee)
    asks = {name: set(names) for name, names in direct.items()}
    changed = True
    while changed:  # a function asks for what the functions it calls ask for
        changed = False
        for name, called in calls.items():
            more = set().union(*(asks[c] for c in called)) - asks[name] if called else set()
            if more:
                asks[name] |= more
                changed = True
    return asks


def plan(paths: list[str], known: dict[str, dict], hints: dict[str, list[str]] | None = None) -> list[str]:
    """`paths` in the order to start them (see the module docstring).

    `known` holds the recorded runs; `hints` names, for a snippet never run, the shared results
    it will likely ask for (`guess_shared`): on a first build, one snippet per result starts
    first, as the likely builder, and the others keep their place.
    """
    def own(path: str) -> float:
        record = known.get(path)
        if record is None:
            return float("inf")
        return float(record.get("wall_s", 0)) - sum(float(s.get("seconds", 0)) for s in record.get("shared", {}).values())

    build_cost: dict[str, float] = {}
    askers: dict[str, list[str]] = {}
    for path in paths:
        names = list(known[path].get("shared", {})) if path in known else (hints or {}).get(path, [])
        for name in names:
            askers.setdefault(name, []).append(path)
    for record in known.values():
        for name, event in record.get("shared", {}).items():
            if event.get("built"):
                build_cost[name] = max(build_cost.get(name, 0.0), float(event.get("seconds", 0)))
    # One leader per shared result: the asker with the most work of its own starts first
    # and (most likely) builds it; its estimate includes the build.
    estimate = {path: own(path) for path in paths}
    leaders = set()
    for name, group in askers.items():
        leader = max(sorted(group), key=own)
        leaders.add(leader)
        estimate[leader] += build_cost.get(name, 0.0)
    return sorted(paths, key=lambda p: (p not in leaders, -estimate[p]))


def run_all(items: list, jobs: int, attempt: Callable, done: Callable) -> None:
    """Run `items` (in this order) on `jobs` threads.

    `attempt(item, may_defer)` runs one and returns an outcome with `deferred` (the name of a
    busy shared result, or None) and `shared` (the shared results it asked for); `done(outcome)`
    is called once per item, as each finishes for good.
    """
    pending = deque(items)
    waiting: dict[str, list] = {}
    running = 0
    cond = threading.Condition()

    def worker() -> None:
        nonlocal running
        while True:
            with cond:
                while True:
                    if pending:
                        item = pending.popleft()
                        may_defer = bool(pending)  # deferring helps only when other work waits
                        break
                    if waiting:  # nothing else to do: wait on the lock like any other caller
                        name = next(iter(waiting))
                        item = waiting[name].pop(0)
                        if not waiting[name]:
                            del waiting[name]
                        may_defer = False
                        break
                    if running == 0:
                        return
                    cond.wait()
                running += 1
            outcome = attempt(item, may_defer)
            with cond:
                running -= 1
                if outcome.deferred:
                    waiting.setdefault(outcome.deferred, []).append(item)
                else:
                    for event in reversed(outcome.shared or []):  # its result is there now: retry at once
                        pending.extendleft(reversed(waiting.pop(event.get("name"), [])))
                cond.notify_all()
            if not outcome.deferred:
                done(outcome)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, min(jobs, len(items))))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
