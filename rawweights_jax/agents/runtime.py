"""Plan, then execute: the agent's runtime.

The model writes the whole plan first (one turn, under the plan grammar); only then does the
executor run it, call by call, with nothing the model writes in between. The split makes the
plan a checkable object (it parses or not, before anything runs) and keeps every side effect
in the executor, where it can be retried, timed and undone.

- Short-term memory is the context: each call's result is written back into the transcript
  (`{56088}`) before the model's answer turn.
- Long-term memory is the store, reached only through `get` and `put`. A task's writes go into
  a transaction that commits when the task succeeds and rolls back when it does not: no
  half-applied state.
- Recovery: a transient failure is retried with exponential backoff (waits on a simulated
  clock); a call that is wrong as written is not retried; when a step still fails, the task
  falls back to answering without tools, and its writes are rolled back.

Tasks run in batches: every plan turn of a batch is one decode, every answer turn another,
while execution between them is plain Python per task.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rawweights_jax.agents.calls import (Call, PlanError, answer_grammar, parse_answer,
                                         parse_plan, plan_grammar, results_line)
from rawweights_jax.agents.decode import decode
from rawweights_jax.agents.grammar import compile_grammar
from rawweights_jax.agents.tasks import Task, direct_prompt, tool_prompt
from rawweights_jax.agents.tools import (Flaky, Store, ToolError, Transaction, TransientError,
                                         call_tool)
from rawweights_jax.agents.trace import Attempt, RunTrace, StepTrace

TOOL_LATENCY_S = {"calc": 0.002, "get": 0.005, "put": 0.010}
"""Simulated cost of one attempt at each tool (a local calculator, a store over the network)."""


# --8<-- [start:backoff]
@dataclass(frozen=True)
class RetryPolicy:
    """Retry a transient failure up to `retries` times, waiting base_s, base_s * factor, ...
    (capped at cap_s) before each: exponential backoff gives a struggling service room."""

    retries: int = 3
    base_s: float = 0.05
    factor: float = 2.0
    cap_s: float = 1.0

    def __post_init__(self):
        if not (isinstance(self.retries, int) and self.retries >= 0):
            raise ValueError(f"retries={self.retries!r}: expected an integer >= 0")
        if not (self.base_s > 0 and self.factor >= 1 and self.cap_s >= self.base_s):
            raise ValueError(f"backoff base_s={self.base_s}, factor={self.factor}, "
                             f"cap_s={self.cap_s}: expected base_s > 0, factor >= 1, cap_s >= base_s")

    def waits(self) -> list[float]:
        return [min(self.cap_s, self.base_s * self.factor ** k) for k in range(self.retries)]
# --8<-- [end:backoff]


class SimClock:
    """A clock that only moves when told to: backoff in tests and benchmarks costs no time."""

    def __init__(self):
        self.t = 0.0

    def sleep(self, seconds: float) -> None:
        self.t += seconds


# --8<-- [start:execute]
def execute(calls: list[Call], txn: Transaction, flaky: Flaky, policy: RetryPolicy,
            clock: SimClock, trace: RunTrace) -> list[int] | None:
    """Run the plan's calls in order; their results, or None when a step failed for good
    (the reason in `trace.failure`)."""
    results: list[int] = []
    for call in calls:
        if "$" in call.text() and not results:
            trace.failure = f"{call.text()}: '$' refers to a previous result, but this is the first call"
            return None
        args = tuple(a.replace("$", str(results[-1])) if results else a for a in call.args)
        step = StepTrace(call.text(), Call(call.tool, args).text())
        trace.steps.append(step)
        start = clock.t
        for k, wait in enumerate([0.0] + policy.waits()):
            clock.sleep(wait + TOOL_LATENCY_S[call.tool])
            try:
                step.result = call_tool(call.tool, list(args), txn, flaky)
                step.attempts.append(Attempt("ok", wait, str(step.result)))
                break
            except TransientError as err:           # may work next time: wait, then retry
                step.attempts.append(Attempt("transient", wait, str(err)))
            except ToolError as err:                # wrong as written: retrying cannot help
                step.attempts.append(Attempt("error", wait, str(err)))
                break
        step.latency_s = clock.t - start
        if step.result is None:
            trace.failure = f"{step.resolved}: {step.attempts[-1].detail}"
            return None
        results.append(step.result)
    return results
# --8<-- [end:execute]


class Agent:
    """A fine-tuned model with its tokenizer and the two turns' automata."""

    def __init__(self, model, tokenizer):
        vocab = tokenizer.decode(range(tokenizer.vocab_size))
        self.model, self.tokenizer = model, tokenizer
        self.plan_automaton = compile_grammar(plan_grammar(), vocab)
        self.answer_automaton = compile_grammar(answer_grammar(), vocab)

    def plan(self, tasks: list[Task], *, constrained: bool = True, temperature: float = 0.0,
             seed: int = 0):
        return decode(self.model, self.tokenizer, [tool_prompt(t) for t in tasks],
                      self.plan_automaton, constrained=constrained, temperature=temperature,
                      seed=seed)

    def answer(self, prompts: list[str], *, constrained: bool = True):
        return decode(self.model, self.tokenizer, prompts, self.answer_automaton,
                      constrained=constrained)

    def fits(self, prompt: str) -> bool:
        return len(prompt) + self.answer_automaton.max_len <= self.model.cfg.context_len


# --8<-- [start:run_tasks]
def run_tasks(agent: Agent, tasks: list[Task], *, failure_rate: float = 0.0,
              policy: RetryPolicy = RetryPolicy(), seed: int = 0, constrained: bool = True,
              plans: list[str] | None = None) -> list[RunTrace]:
    """Run each task: plan (one batched decode), execute (per task), answer (one batched
    decode), then commit or roll back. `plans` reuses plan turns already decoded."""
    traces = [RunTrace(t.question) for t in tasks]
    t0 = time.perf_counter()
    if plans is None:
        plans = agent.plan(tasks, constrained=constrained).texts
    plan_ms = (time.perf_counter() - t0) * 1000 / len(tasks)
    stores = [Store(t.store_before) for t in tasks]
    txns = [s.begin() for s in stores]
    prompts = []
    for i, (task, trace, plan) in enumerate(zip(tasks, traces, plans)):
        trace.plan = plan
        flaky = Flaky(failure_rate, seed=seed * 100_003 + i)
        try:
            calls = parse_plan(plan)
            trace.plan_ok = True
            results = execute(calls, txns[i], flaky, policy, SimClock(), trace)
        except PlanError as err:
            trace.failure, results = str(err), None
        prompt = tool_prompt(task) + plan + results_line(results) if results is not None else ""
        if results is None or not agent.fits(prompt):
            trace.failure = trace.failure or "the results overflow the context"
            trace.fallback, prompt = True, direct_prompt(task)   # answer without the tools
        prompts.append(prompt)
    t0 = time.perf_counter()
    answers = agent.answer(prompts).texts
    answer_ms = (time.perf_counter() - t0) * 1000 / len(tasks)
    for task, trace, txn, store, text in zip(tasks, traces, txns, stores, answers):
        trace.answer_text, trace.answer = text, parse_answer(text)
        trace.decode_ms = plan_ms + answer_ms
        if trace.fallback or trace.answer is None:
            trace.rolled_back = dict(txn.writes)
            txn.rollback()                  # a task that did not finish leaves the store as it was
        else:
            trace.committed = dict(txn.writes)
            txn.commit()
        trace.success = trace.answer == task.answer and store.items == task.store_after
    return traces
# --8<-- [end:run_tasks]
