"""Agents: the grammar's automaton, masked decoding that always parses, the tools and their
injected failures, the backoff schedule, rollback on failure, traces, and the bench's keys."""

from __future__ import annotations

import numpy as np
import pytest

from _lib_support import tiny_model
from rawweights_jax.agents.calls import (AGENT_CHARS, PlanError, answer_grammar, parse_answer,
                                         parse_plan, plan_grammar)
from rawweights_jax.agents.decode import Decoded, decode
from rawweights_jax.agents.grammar import alt, chars, compile_grammar, lit, max_len, repeat, seq
from rawweights_jax.agents.runtime import Agent, RetryPolicy, SimClock, execute, run_tasks
from rawweights_jax.agents.tasks import make_tasks, training_arrays, transcript
from rawweights_jax.agents.tools import (Flaky, Store, ToolError, TransientError, calculate,
                                         call_tool)
from rawweights_jax.agents.trace import RunTrace, to_markdown, trace_rows
from rawweights_jax.data.tokenizer import CharTokenizer
from rawweights_jax.model.gpt import init_model

SHAKESPEARE = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TOKENIZER = CharTokenizer(SHAKESPEARE + "".join(c for c in AGENT_CHARS if c not in SHAKESPEARE))
VOCAB = TOKENIZER.chars
PLAN = compile_grammar(plan_grammar(), VOCAB)
MODEL = init_model(tiny_model(vocab_size=len(VOCAB), context_len=64), seed=1)


@pytest.mark.parametrize("text", ["[calc 123*456]\n", "[calc 1+2][put x $]\n", "[get ab]\n",
                                  "[get x][calc $+123]\n", "[put abcd 999999]\n"])
def test_the_plan_automaton_accepts_well_formed_plans_and_the_parser_agrees(text):
    assert PLAN.accepts(text)
    assert [c.text() for c in parse_plan(text)] == [c for c in text.strip().replace("][", "]\n[").split("\n")]


@pytest.mark.parametrize("text", ["[calc 123*]\n", "[calc 1234567*1]\n", "[get AB]\n", "[calc 1+2]",
                                  "[get a][get b][get c]\n", "[put x]\n", "calc 1+2\n", "", "[get abcde]\n"])
def test_the_plan_automaton_rejects_malformed_plans(text):
    assert not PLAN.accepts(text)


def test_combinators_bounds_and_errors():
    g = compile_grammar(seq(lit("ab"), repeat(chars("01"), 2, 3), alt(lit("x"), lit("yz"))), "abxyz01")
    assert [g.accepts(s) for s in ("ab01x", "ab010yz", "ab0x", "ab0101x", "ab01")] == [True, True, False, False, False]
    assert max_len(plan_grammar()) == 41 and PLAN.max_len == 41
    with pytest.raises(ValueError, match="lacks"):
        compile_grammar(lit("a+b"), "ab")
    with pytest.raises(ValueError, match="repeat"):
        repeat(lit("a"), 3, 2)
    # prefix states are not accepting; the end state allows nothing more (decoding stops there)
    assert not PLAN.accept_S[PLAN.walk(TOKENIZER.encode("[get a]"))]
    assert PLAN.done_S[PLAN.walk(TOKENIZER.encode("[get a]\n"))]


def test_masked_decoding_always_parses_even_with_a_random_model():
    prompts = ["Q:123*456\n", "Q:x=1+2\n", "Q:y+7\n", "Q:hello\n"]
    for temperature, seed in ((0.0, 0), (1.0, 1), (1.0, 2)):
        out = decode(MODEL, TOKENIZER, prompts, PLAN, temperature=temperature, seed=seed)
        assert all(out.parsed), out.texts
        assert all(parse_plan(t) for t in out.texts)
    free = decode(MODEL, TOKENIZER, prompts, PLAN, constrained=False, temperature=1.0)
    assert not any(free.parsed)                      # a random model's free text is no plan
    answers = decode(MODEL, TOKENIZER, prompts, compile_grammar(answer_grammar(), VOCAB), seed=3,
                     temperature=1.0)
    assert all(parse_answer(t) is not None for t in answers.texts)
    with pytest.raises(ValueError, match="context"):
        decode(MODEL, TOKENIZER, ["Q:" + "a" * 30], PLAN)


def test_calculator_is_exact_and_names_bad_input():
    assert calculate("999999999*999999999") == 999999998000000001
    assert calculate("-5-7") == -12
    for bad in ("1/2", "12*", "1234567890+1", "one+two"):
        with pytest.raises(ToolError, match="calc"):
            calculate(bad)


def test_store_transactions_commit_or_roll_back_whole():
    store = Store({"a": 1})
    txn = store.begin()
    txn.put("b", 2)
    assert txn.get("b") == 2 and "b" not in store.items      # invisible until committed
    txn.rollback()
    assert store.items == {"a": 1}
    with pytest.raises(RuntimeError, match="already"):
        txn.commit()
    txn = store.begin()
    txn.put("a", 5)
    txn.commit()
    assert store.items == {"a": 5}
    with pytest.raises(ToolError, match="no such key"):
        store.begin().get("zz")
    with pytest.raises(ToolError, match="lowercase"):
        store.begin().put("AB", 1)


def test_injected_failures_happen_at_the_rate_and_repeat_with_the_seed():
    def fails(seed):
        flaky = Flaky(0.3, seed)
        out = []
        for _ in range(2000):
            try:
                flaky.check("calc")
                out.append(False)
            except TransientError:
                out.append(True)
        return out
    assert fails(4) == fails(4) and fails(4) != fails(5)
    assert 0.27 < np.mean(fails(4)) < 0.33
    with pytest.raises(ValueError, match="failure rate"):
        Flaky(1.5)
    txn = Store().begin()
    with pytest.raises(TransientError):     # the failure comes before the write
        call_tool("put", ["x", "1"], txn, Flaky(0.999999, 0))
    assert txn.writes == {}


def test_backoff_schedule():
    assert RetryPolicy(retries=5, base_s=0.05, factor=2.0, cap_s=0.3).waits() == [0.05, 0.1, 0.2, 0.3, 0.3]
    assert RetryPolicy(retries=0).waits() == []
    with pytest.raises(ValueError, match="retries"):
        RetryPolicy(retries=-1)
    with pytest.raises(ValueError, match="factor"):
        RetryPolicy(factor=0.5)


class ScriptedFlaky(Flaky):
    """Fails exactly the calls numbered in `fail`."""
    def __init__(self, fail):
        super().__init__(0.0)
        self.fail, self.n = set(fail), 0

    def check(self, what):
        self.n += 1
        if self.n in self.fail:
            raise TransientError(f"{what}: scripted failure")


def test_execute_retries_with_backoff_on_the_simulated_clock():
    trace, clock, txn = RunTrace("q"), SimClock(), Store({"x": 40}).begin()
    results = execute(parse_plan("[get x][calc $+2]\n"), txn, ScriptedFlaky({2, 3}),
                      RetryPolicy(retries=3, base_s=0.1), clock, trace)
    assert results == [40, 42]
    step = trace.steps[1]
    assert [a.outcome for a in step.attempts] == ["transient", "transient", "ok"]
    assert [a.waited_s for a in step.attempts] == [0.0, 0.1, 0.2]
    assert step.resolved == "[calc 40+2]" and step.retries == 2 and trace.retries == 2
    assert step.latency_s == pytest.approx(0.3 + 3 * 0.002)
    assert clock.t == pytest.approx(0.005 + step.latency_s)        # nothing really slept
    no_retry = RunTrace("q")
    assert execute(parse_plan("[get x]\n"), txn, ScriptedFlaky({1}), RetryPolicy(retries=0),
                   SimClock(), no_retry) is None and "scripted" in no_retry.failure


class FakeAgent:
    """Answers every prompt with a fixed turn: the runtime's bookkeeping without a model."""
    def __init__(self, text):
        self.text = text

    def answer(self, prompts):
        return Decoded([self.text] * len(prompts), [True] * len(prompts), 1)

    def fits(self, prompt):
        return True


def test_a_failed_task_rolls_back_its_writes_and_falls_back():
    task = make_tasks(3, 0, kinds=("store",))[0]
    bad_plan = f"[put {task.question[0]} 5][calc 1*]\n"        # a write, then a call that cannot work
    [run] = run_tasks(FakeAgent(f"A:{task.answer}."), [task], plans=[bad_plan])
    assert run.fallback and not run.success and "calc" in run.failure
    assert run.rolled_back == {task.question[0]: 5} and run.committed == {}
    [ok] = run_tasks(FakeAgent(f"A:{task.answer}."), [task], plans=[task.plan])
    assert ok.success and ok.committed == {task.question[0]: task.answer}
    [junk] = run_tasks(FakeAgent("A:1."), [task], plans=["[calc 1+1"])
    assert not junk.plan_ok and junk.fallback


def test_trace_fields_and_rendering():
    task = make_tasks(1, 0, kinds=("recall",))[0]
    [run] = run_tasks(FakeAgent(f"A:{task.answer}."), [task], plans=[task.plan],
                      failure_rate=0.5, seed=3)
    d = run.to_dict()
    for key in ("question", "plan", "steps", "retries", "tool_latency_s", "decode_ms", "success",
                "committed", "rolled_back", "fallback"):
        assert key in d
    assert RunTrace.from_dict(d) == run                  # a result file's traces read back
    headers, rows = trace_rows(run)
    assert headers == ["event", "what", "outcome", "time"] and rows[0][0] == "plan"
    assert rows[-1][0] == "answer" and "| plan |" in to_markdown(run)


def test_transcripts_grade_only_what_the_model_writes():
    task = make_tasks(1, 0, kinds=("store",))[0]
    x, y, mask = training_arrays([task], TOKENIZER, 64)
    graded = TOKENIZER.decode(y[0][mask[0]])
    assert graded == task.plan + f"A:{task.answer}."
    text = "".join(t for t, _ in transcript(task, tools=True))
    assert TOKENIZER.decode(x[0][:len(text) - 1]) == text[:-1]
    held = make_tasks(60, 1, exclude=frozenset(t.question for t in make_tasks(500, 0)))
    assert not {t.question for t in held} & {t.question for t in make_tasks(500, 0)}


def test_the_bench_cheapest_point_returns_every_key():
    from rawweights_jax.agents.train import train_agent
    from rawweights_jax.bench.agent import REQUIRED_KEYS, measure

    base = init_model(tiny_model(vocab_size=len(SHAKESPEARE), context_len=64), seed=2)
    model, tok, history, seen = train_agent(base, CharTokenizer(SHAKESPEARE), steps=2, batch=4,
                                            n_train=40)
    assert tok == TOKENIZER and len(history["loss"]) == 2
    out = measure(Agent(model, tok), make_tasks(6, 9, exclude=seen), seed=0)
    assert set(REQUIRED_KEYS) <= set(out)
    assert out["parse_rate_constrained"] == 1.0 and out["no_half_applied_state"] is True


def test_the_cli_names_a_missing_base_in_one_line():
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "rawweights_jax.cli", "bench", "agent", "--base",
                        "nowhere", "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "--base nowhere: no such checkpoint" in r.stderr


def test_the_committed_result_has_every_key_and_meets_the_targets():
    import json
    from pathlib import Path

    from rawweights_jax.bench.agent import REQUIRED_KEYS
    r = json.loads((Path(__file__).resolve().parents[1] / "benchmarks/results/agent-cpu-2026-12-04.json").read_text())
    assert set(REQUIRED_KEYS) <= set(r) and {"device", "date", "command", "commit"} <= set(r)
    assert r["success_no_tools"] < 0.2 and r["success_tools_arith"] >= 0.95
    assert r["parse_rate_constrained"] == r["parse_rate_constrained_t1"] == 1.0
    assert r["success_failures_10_retry"] >= 0.9 and r["no_half_applied_state"]
