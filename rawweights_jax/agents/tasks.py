"""The agent's tasks, and the transcripts it is fine-tuned on.

Three kinds, all checkable by a program:

- `arith`: "123*456" or "123+456", 3-digit operands: the answer is the exact result. A
  65-character Shakespeare model cannot multiply in its head; with the calculator it only has
  to copy the operands into a call and the result into its answer.
- `store`: "x=123*456": compute, then remember the result under key x (a write to the store).
- `recall`: "x+123": read x from the store, then add (the long-term memory, read through a tool).

A held-out set is drawn from another seed with every question of the training set removed.
`transcripts` writes each task as the text the model learns from, with a mask that is True
exactly where the model writes (the plan and the answer): the question and the tool results
come from the user and the runtime, so the model is not graded on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rawweights_jax.agents.calls import KEY_CHARS, results_line
from rawweights_jax.agents.tools import calculate

KINDS = ("arith", "store", "recall")


@dataclass(frozen=True)
class Task:
    kind: str
    question: str                   # without the "Q:" / "D:" prefix
    answer: int
    plan: str                       # the reference plan (training target), with its newline
    results: tuple                  # the reference tool results
    store_before: dict = field(default_factory=dict)
    store_after: dict = field(default_factory=dict)


def _operands(rng):
    a, b = (int(x) for x in rng.integers(100, 1000, size=2))
    return a, "+*"[int(rng.integers(2))], b


def make_task(kind: str, rng) -> Task:
    key = KEY_CHARS[int(rng.integers(26))]
    other = KEY_CHARS[(KEY_CHARS.index(key) + 1 + int(rng.integers(25))) % 26]
    before = {other: int(rng.integers(100, 100000))}     # a distractor the task must not touch
    if kind == "arith":
        a, op, b = _operands(rng)
        v = calculate(f"{a}{op}{b}")
        return Task(kind, f"{a}{op}{b}", v, f"[calc {a}{op}{b}]\n", (v,), before, before)
    if kind == "store":
        a, op, b = _operands(rng)
        v = calculate(f"{a}{op}{b}")
        return Task(kind, f"{key}={a}{op}{b}", v, f"[calc {a}{op}{b}][put {key} $]\n", (v, v),
                    before, {**before, key: v})
    if kind == "recall":
        held, b = int(rng.integers(100, 100000)), int(rng.integers(100, 1000))
        before = {**before, key: held}
        return Task(kind, f"{key}+{b}", held + b, f"[get {key}][calc $+{b}]\n", (held, held + b),
                    before, before)
    raise ValueError(f"task kind {kind!r}: expected one of {', '.join(KINDS)}")


def make_tasks(n: int, seed: int, kinds=KINDS, exclude: frozenset = frozenset()) -> list[Task]:
    """`n` tasks, kinds in turn, none of whose questions is in `exclude` (the training set's)."""
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n={n!r}: expected an integer >= 1")
    rng, out = np.random.default_rng(seed), []
    while len(out) < n:
        task = make_task(kinds[len(out) % len(kinds)], rng)
        if task.question not in exclude:
            out.append(task)
    return out


def tool_prompt(task: Task) -> str:
    return f"Q:{task.question}\n"


def direct_prompt(task: Task) -> str:
    return f"D:{task.question}\n"


def answer_text(value: int) -> str:
    return f"A:{value}."


def transcript(task: Task, tools: bool) -> list[tuple[str, bool]]:
    """The task's turns as (text, written by the model?)."""
    if not tools:
        return [(direct_prompt(task), False), (answer_text(task.answer), True)]
    return [(tool_prompt(task), False), (task.plan, True),
            (results_line(list(task.results)), False), (answer_text(task.answer), True)]


def training_arrays(tasks: list[Task], tokenizer, ctx: int, direct_share: float = 0.0, seed: int = 0):
    """(x_NT, y_NT, mask_NT) of the tasks' transcripts, T = ctx: inputs, next characters, and
    True where the next character is the model's to write. A share `direct_share` of the
    arithmetic tasks is written in the direct form ("D:", no tools) instead."""
    rng = np.random.default_rng(seed)
    x_NT = np.zeros((len(tasks), ctx), np.int32)
    y_NT = np.zeros((len(tasks), ctx), np.int32)
    mask_NT = np.zeros((len(tasks), ctx), bool)
    for n, task in enumerate(tasks):
        tools = not (task.kind == "arith" and rng.random() < direct_share)
        ids, graded = [], []
        for text, by_model in transcript(task, tools):
            ids += tokenizer.encode(text)
            graded += [by_model] * len(text)
        if len(ids) > ctx + 1:
            raise ValueError(f"task {task.question!r}: its transcript of {len(ids)} characters "
                             f"does not fit the context of {ctx}")
        T = len(ids) - 1
        x_NT[n, :T], y_NT[n, :T], mask_NT[n, :T] = ids[:-1], ids[1:], graded[1:]
    return x_NT, y_NT, mask_NT
