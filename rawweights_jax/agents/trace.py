"""Every run, traced: what the model planned, each call and its attempts, the waits between
them, the answer, and whether the store's writes were kept. A trace is plain data (dataclasses
that `asdict` turns into JSON) so a benchmark can count from it and a page can draw it.

Two clocks, kept apart on purpose: tool time is *simulated* (each attempt costs its tool's
latency, each retry waits its backoff on a `SimClock`; tests never sleep), while the model's
decoding is *measured* in wall-clock milliseconds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Attempt:
    outcome: str                 # "ok", "transient" (retried) or "error" (not retried)
    waited_s: float              # backoff slept before this attempt
    detail: str = ""             # the error message, or the value


@dataclass
class StepTrace:
    call: str                    # the call as planned, e.g. "[calc $+12]"
    resolved: str                # with `$` replaced, e.g. "[calc 56088+12]"
    attempts: list[Attempt] = field(default_factory=list)
    result: int | None = None
    latency_s: float = 0.0       # simulated: the attempts' latencies and the waits

    @property
    def retries(self) -> int:
        return max(len(self.attempts) - 1, 0)


@dataclass
class RunTrace:
    question: str
    plan: str = ""               # what the model wrote in its plan turn
    plan_ok: bool = False        # the plan parsed
    steps: list[StepTrace] = field(default_factory=list)
    failure: str = ""            # why execution stopped (empty when every step succeeded)
    fallback: bool = False       # answered without the tools' results
    answer_text: str = ""
    answer: int | None = None
    committed: dict = field(default_factory=dict)     # store writes kept
    rolled_back: dict = field(default_factory=dict)   # store writes undone
    decode_ms: float = 0.0       # measured: this run's share of its batch's decoding
    success: bool = False        # the answer and the store are what the task expects

    @property
    def retries(self) -> int:
        return sum(s.retries for s in self.steps)

    @property
    def tool_latency_s(self) -> float:
        return sum(s.latency_s for s in self.steps)

    def to_dict(self) -> dict:
        return {**asdict(self), "retries": self.retries, "tool_latency_s": self.tool_latency_s}

    @classmethod
    def from_dict(cls, d: dict) -> RunTrace:
        """The trace `to_dict` wrote (a benchmark's result file keeps some)."""
        fields = {k: v for k, v in d.items() if k not in ("retries", "tool_latency_s", "steps")}
        steps = [StepTrace(**{**s, "attempts": [Attempt(**a) for a in s["attempts"]]})
                 for s in d["steps"]]
        return cls(**fields, steps=steps)


# --8<-- [start:render]
def trace_rows(trace: RunTrace) -> tuple[list[str], list[list[str]]]:
    """(headers, rows) of a trace's timeline, one row per event: for rwsite.tables.table on a
    page, or `to_markdown` anywhere else."""
    rows = [["plan", trace.plan.strip() or "(empty)",
             "parsed" if trace.plan_ok else "does not parse", f"{trace.decode_ms:.0f} ms decode"]]
    for step in trace.steps:
        for k, a in enumerate(step.attempts):
            what = step.resolved if k == 0 else "retry"
            wait = f"waited {a.waited_s * 1000:.0f} ms" if a.waited_s else ""
            rows.append([f"call {trace.steps.index(step) + 1}", what, f"{a.outcome}: {a.detail}", wait])
    if trace.failure:
        rows.append(["abort", trace.failure, "fallback: answer without tools" if trace.fallback
                     else "", ""])
    for key, value in trace.rolled_back.items():
        rows.append(["rollback", f"put {key} {value}", "undone", ""])
    for key, value in trace.committed.items():
        rows.append(["commit", f"put {key} {value}", "kept", ""])
    rows.append(["answer", trace.answer_text, "correct" if trace.success else "wrong",
                 f"tools {trace.tool_latency_s * 1000:.0f} ms (simulated)"])
    return ["event", "what", "outcome", "time"], rows
# --8<-- [end:render]


def to_markdown(trace: RunTrace) -> str:
    headers, rows = trace_rows(trace)
    cell = lambda s: str(s).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
