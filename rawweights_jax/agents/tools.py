"""The agent's tools: an exact calculator and a key-value store (its long-term memory), with
failures injected at a set rate.

Two kinds of failure, kept apart because the runtime treats them differently:

- `ToolError`: the call itself is wrong (a malformed expression, a key never stored). Asking
  again gives the same answer, so the runtime does not retry it.
- `TransientError`: the tool was unavailable this time (a timeout, a dropped connection).
  `Flaky` raises it at `rate` from a seeded generator, so a run's failures are reproducible.

The store takes writes only inside a transaction (`Store.begin()`): a task's writes become
visible together when it commits, or not at all when it rolls back, so a task that fails half
way leaves no half-applied state behind.
"""

from __future__ import annotations

import re

import numpy as np


class ToolError(ValueError):
    """A call that can never succeed as written (no retry)."""


class TransientError(RuntimeError):
    """A call that failed this time and may succeed if tried again."""


# --------------------------------------------------------------------------- calculator
_EXPR = re.compile(r"(-?\d{1,9})([+\-*])(-?\d{1,9})")


def calculate(expr: str) -> int:
    """`a op b` with op one of + - * on integers of at most 9 digits, computed exactly (Python
    integers: no float rounding, which is the point of handing arithmetic to a tool)."""
    m = _EXPR.fullmatch(expr)
    if not m:
        raise ToolError(f"calc {expr!r}: expected 'a+b', 'a-b' or 'a*b' with integers of at "
                        "most 9 digits")
    a, op, b = int(m[1]), m[2], int(m[3])
    return a + b if op == "+" else a - b if op == "-" else a * b


# --------------------------------------------------------------------------- key-value store
_KEY = re.compile(r"[a-z]{1,4}")


class Store:
    """Long-term memory: keys of 1-4 lowercase letters to integer values, that outlive a task."""

    def __init__(self, items: dict[str, int] | None = None):
        self.items: dict[str, int] = {}
        for k, v in (items or {}).items():
            self.items[check_key(k)] = int(v)

    def begin(self) -> Transaction:
        return Transaction(self)


def check_key(key: str) -> str:
    if not (isinstance(key, str) and _KEY.fullmatch(key)):
        raise ToolError(f"key {key!r}: expected 1-4 lowercase letters")
    return key


class Transaction:
    """A task's view of the store: reads see its own writes first; `commit` applies them all at
    once, `rollback` forgets them. Either ends it: a second end is an error, not a silent no-op."""

    def __init__(self, store: Store):
        self.store, self.writes, self.open = store, {}, True

    def get(self, key: str) -> int:
        self._check_open()
        key = check_key(key)
        if key in self.writes:
            return self.writes[key]
        if key not in self.store.items:
            raise ToolError(f"get {key!r}: no such key (the store holds "
                            f"{', '.join(sorted(self.store.items)) or 'nothing'})")
        return self.store.items[key]

    def put(self, key: str, value: int) -> int:
        self._check_open()
        self.writes[check_key(key)] = int(value)
        return int(value)

    def commit(self) -> None:
        self._check_open()
        self.store.items.update(self.writes)
        self.open = False

    def rollback(self) -> None:
        self._check_open()
        self.writes, self.open = {}, False

    def _check_open(self):
        if not self.open:
            raise RuntimeError("this transaction has already been committed or rolled back")


# --------------------------------------------------------------------------- failure injection
class Flaky:
    """Raise TransientError on a call with probability `rate`, drawn from a seeded generator:
    the same seed fails the same calls, so a traced run can be replayed."""

    def __init__(self, rate: float, seed: int = 0):
        if not (isinstance(rate, (int, float)) and 0 <= rate < 1):
            raise ValueError(f"failure rate {rate!r}: expected a number in [0, 1)")
        self.rate, self.rng = float(rate), np.random.default_rng(seed)

    def check(self, what: str) -> None:
        if self.rng.random() < self.rate:
            raise TransientError(f"{what}: tool unavailable (injected failure)")


def call_tool(tool: str, args: list[str], txn: Transaction, flaky: Flaky) -> int:
    """Run one call (its `$` already replaced by the previous result) and return its value."""
    flaky.check(tool)                  # the failure comes before any effect: nothing half-done
    if tool == "calc":
        return calculate(args[0])
    if tool == "get":
        return txn.get(args[0])
    if tool == "put":
        try:
            value = int(args[1])
        except ValueError:
            raise ToolError(f"put {args[0]} {args[1]!r}: expected an integer value") from None
        return txn.put(args[0], value)
    raise ToolError(f"unknown tool {tool!r}: expected calc, get or put")
