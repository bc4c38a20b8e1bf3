"""Pipeline schedules: which microbatch each stage works on at each tick, and the bubble.

A pipeline gives each of p devices (stages) a run of consecutive layers and cuts the batch into
m microbatches. A stage can run microbatch i forward (F i) only after the stage before it has,
and backward (B i) only after the stage after it has (the last stage: after its own forward).
Here a tick is one forward or one backward of one microbatch on one stage, and each stage
follows its own order of operations, doing the next one as soon as its input has arrived:

- GPipe (Huang et al., 2019): every forward, then every backward. Each stage keeps the inputs
  of all m microbatches until their backward.
- 1F1B (PipeDream-Flush, Narayanan et al., 2021): stage s runs p - 1 - s forwards to fill the
  pipe, then alternates one forward and one backward, then drains. The same number of ticks,
  but at most p - s microbatches are in flight on stage s, instead of m.

Both spend 2(m + p - 1) ticks on 2m ticks of work per stage: the idle ones, the bubble, are a
fraction (p - 1) / (m + p - 1) of the whole, which `bubble_fraction` counts from the table.
"""

from __future__ import annotations

from dataclasses import dataclass

Op = tuple[str, int] | None
"""('F', i), ('B', i), or None: idle."""


@dataclass(frozen=True)
class Schedule:
    name: str
    stages: int
    microbatches: int
    ops: tuple[tuple[Op, ...], ...]
    """`ops[t][s]`: what stage `s` does at tick `t`."""

    @property
    def ticks(self) -> int:
        return len(self.ops)

    @property
    def bubble_fraction(self) -> float:
        """Idle stage-ticks over all stage-ticks, counted from the table."""
        idle = sum(op is None for row in self.ops for op in row)
        return idle / (self.ticks * self.stages)

    @property
    def peak_in_flight(self) -> int:
        """Most microbatches any stage has run forward but not yet backward (inputs it keeps)."""
        peak = 0
        for s in range(self.stages):
            live = 0
            for row in self.ops:
                if row[s] is not None:
                    live += 1 if row[s][0] == "F" else -1
                    peak = max(peak, live)
        return peak

    def sends(self, kind: str) -> int:
        """Ticks at which some stage passes a result on: 'F' forward (to s + 1), 'B' back."""
        last = self.stages - 1 if kind == "F" else 0
        return sum(any(op is not None and op[0] == kind and s != last for s, op in enumerate(row))
                   for row in self.ops)


def ideal_bubble(stages: int, microbatches: int) -> float:
    """(p - 1) / (m + p - 1): the bubble of GPipe and 1F1B with equal-cost ticks."""
    return (stages - 1) / (microbatches + stages - 1)


def _orders(name: str, p: int, m: int) -> list[list[tuple[str, int]]]:
    if name == "gpipe":
        return [[("F", i) for i in range(m)] + [("B", i) for i in range(m)] for _ in range(p)]
    if name == "1f1b":
        orders = []
        for s in range(p):
            warm = min(p - 1 - s, m)
            order = [("F", i) for i in range(warm)]
            for i in range(m - warm):
                order += [("F", warm + i), ("B", i)]
            orders.append(order + [("B", i) for i in range(m - warm, m)])
        return orders
    raise ValueError(f"unknown pipeline schedule {name!r}: expected 'gpipe' or '1f1b'")


def schedule(name: str, stages: int, microbatches: int) -> Schedule:
    """The tick table of `name` ('gpipe' or '1f1b') for `stages` stages and `microbatches`."""
    if stages < 1 or microbatches < 1:
        raise ValueError(f"schedule needs stages >= 1 and microbatches >= 1, got {stages}, {microbatches}")
    p, m = stages, microbatches
    orders = _orders(name, p, m)
    done: dict[tuple[str, int, int], int] = {}       # (kind, microbatch, stage) -> tick
    nxt, rows, t = [0] * p, [], 0
    while any(nxt[s] < len(orders[s]) for s in range(p)):
        row = []
        for s in range(p):
            op = orders[s][nxt[s]] if nxt[s] < len(orders[s]) else None
            if op is not None:
                kind, i = op
                need = (("F", i, s - 1) if s > 0 else None) if kind == "F" else \
                       (("B", i, s + 1) if s < p - 1 else ("F", i, s))
                if need is not None and done.get(need, t) >= t:
                    op = None                           # its input has not arrived yet
            row.append(op)
        for s, op in enumerate(row):
            if op is not None:
                done[(op[0], op[1], s)] = t
                nxt[s] += 1
        rows.append(tuple(row))
        t += 1
    return Schedule(name, p, m, tuple(rows))
