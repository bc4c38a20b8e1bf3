"""Preference pairs a program can check: the right answer against a near miss.

Human preference data says "people liked this answer better"; nothing checks it. Here every
pair comes from a graded task (tasks.py): the chosen answer is the task's own answer, the
rejected one is that answer with one character changed (a digit for a digit, a letter for a
letter, or two neighbours swapped) and is kept only if the task's grader says it is wrong. So
the preference is a fact, a held-out accuracy means something, and a near miss is the
hardest kind of wrong answer: the two differ in one place, and that place is the lesson.

Held-out pairs come from the tasks' test split, whose prompts never occur in training
(tasks.py assigns every prompt to one split by its text), so the held-out accuracy is
measured on questions never seen in training. For `speaker` the wrong answer is another of
the four speakers: a misspelt name would be a giveaway.
"""

from __future__ import annotations

import functools
import random
import re
import string
from typing import NamedTuple

import numpy as np

from rawweights_jax.data.shakespeare import shakespeare_text
from rawweights_jax.posttrain import tasks as task_registry
from rawweights_jax.posttrain.chat import encode, render


class Pair(NamedTuple):
    task: str
    prompt: str
    chosen: str      # the right answer
    rejected: str    # a near miss that the task's grader rejects


ORDER = "order"
"""The pair kind that is not a task: a line of the play's second half against its words shuffled."""


class PairArrays(NamedTuple):
    """Chosen and rejected answers of N pairs as model inputs (one common width T).

    Row n of `x_c_NT` feeds the chosen example, `y_c_NT` holds its next characters and `m_c_NT`
    marks the targets that are answer characters (and the end marker); `_r_` the same for the
    rejected one. Summing log-probs over the mask gives log pi(answer | prompt).
    """

    x_c_NT: np.ndarray
    y_c_NT: np.ndarray
    m_c_NT: np.ndarray
    x_r_NT: np.ndarray
    y_r_NT: np.ndarray
    m_r_NT: np.ndarray


# --8<-- [start:near_miss]
def near_miss(answer: str, rng: random.Random) -> str:
    """`answer` with one character changed: a digit to another digit, a letter to another
    letter of the same case, or (otherwise, or for a one-kind-of-character answer) two
    neighbouring characters swapped. The result always differs from `answer`."""
    if not answer:
        raise ValueError("an empty answer has no near miss")
    for _ in range(32):
        i = rng.randrange(len(answer))
        c = answer[i]
        pool = (string.digits if c.isdigit() else string.ascii_lowercase if c.islower()
                else string.ascii_uppercase if c.isupper() else "")
        if pool and rng.random() < 0.75:
            new = answer[:i] + rng.choice(pool.replace(c, "")) + answer[i + 1:]
        elif len(answer) > 1:
            j = min(i, len(answer) - 2)
            new = answer[:j] + answer[j + 1] + answer[j] + answer[j + 2:]
        else:
            continue
        if new != answer:
            return new
    raise ValueError(f"could not find a near miss of {answer!r}: no character can change")
# --8<-- [end:near_miss]


def wrong_answer(task_name: str, prompt: str, answer: str, rng: random.Random) -> str:
    """A plausible wrong answer: another of the four speakers for `speaker` (a misspelt name
    would be too easy to spot), a near miss for every other task."""
    if task_name == "speaker":
        return rng.choice([s for s in task_registry.SPEAKERS if s != answer])
    return near_miss(answer, rng)


@functools.lru_cache(maxsize=1)
def _lines() -> tuple[str, ...]:
    """Distinct lines of the play of 5 to 9 plain words and at most 44 characters."""
    found = {line.strip() for line in shakespeare_text().split("\n")}
    return tuple(sorted(l for l in found if len(l) <= 44 and 5 <= len(l.split()) <= 9
                        and re.fullmatch(r"[A-Za-z' ,]+[.,;:!?]?", l)))


def make_order_pairs(n: int, seed: int, split: str = "train") -> list[Pair]:
    """n pairs "line:<first two words>" -> the rest of a real line, against the same words in
    another order. Which line belongs to which split is fixed by its text (tasks.split_of)."""
    lines = [l for l in _lines() if task_registry.split_of(l) == split]
    rng = random.Random(f"order-{seed}-{split}")
    pairs = []
    while len(pairs) < n:
        words = rng.choice(lines).split()
        rest = words[2:]
        shuffled = rest[:]
        while shuffled == rest:
            rng.shuffle(shuffled)
        pairs.append(Pair(ORDER, "line:" + " ".join(words[:2]), " ".join(rest), " ".join(shuffled)))
    return pairs


def make_pairs(task_names, n_per_task: int, seed: int, split: str = "train") -> list[Pair]:
    """`n_per_task` pairs of each task, their prompts drawn from `split` with `seed` (tasks.py
    puts every prompt in one split by its text, so "train" and "test" never share one). A
    rejected answer is redrawn until the task's grader marks it wrong."""
    rng = random.Random(f"pairs-{seed}-{split}")
    pairs = []
    for name in task_names:
        if name == ORDER:
            pairs += make_order_pairs(n_per_task, seed, split)
            continue
        task = task_registry.task(name)
        for prompt, answer in task.make(n_per_task, seed, split):
            for _ in range(16):
                rejected = wrong_answer(name, prompt, answer, rng)
                if not task.grade(prompt, rejected):
                    pairs.append(Pair(name, prompt, answer, rejected))
                    break
    if not pairs:
        raise ValueError(f"no pairs made for tasks {list(task_names)} (n_per_task={n_per_task})")
    return pairs


def train_and_heldout(task_names, n_train: int, n_heldout: int, seed: int):
    """(training pairs, held-out pairs): the held-out ones from the tasks' test split."""
    return (make_pairs(task_names, n_train, seed, "train"),
            make_pairs(task_names, n_heldout, seed, "test"))


def encode_pairs(tokenizer, pairs: list[Pair], ctx: int) -> PairArrays:
    """Both answers of every pair, encoded with the chat template and cut to the widest
    example (a shorter width is a cheaper forward pass; the mask covers the answers only)."""
    if not pairs:
        raise ValueError("no pairs to encode")
    width = max(len(render(p.prompt, a)) for p in pairs for a in (p.chosen, p.rejected))

    def side(answers):
        rows = [encode(tokenizer, p.prompt, a, ctx) for p, a in zip(pairs, answers)]
        tokens_NT = np.stack([t for t, _ in rows])[:, :width]
        mask_NT = np.stack([m for _, m in rows])[:, :width]
        return tokens_NT[:, :-1], tokens_NT[:, 1:], mask_NT[:, :-1]

    return PairArrays(*side([p.chosen for p in pairs]), *side([p.rejected for p in pairs]))
