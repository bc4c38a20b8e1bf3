"""Exercises a tiny model can learn and a program can grade.

Each task makes (prompt, answer) pairs and grades a completion against the prompt alone, so
a grader needs no stored key: `make(n, seed, split)` and `grade(prompt, completion)`.

    add3     "123+456"          -> "579"         three-digit addition
    reverse  "rev:night"        -> "thgin"       a word of the play, backwards
    count    "count e:beseech"  -> "3"           how often a letter occurs in a word
    speaker  "who:<a line>"     -> "ROMEO"       which of four characters speaks the line

Held-out examples never leak into training: every possible prompt belongs to one split by a
hash of its text (one in five is "test"), whatever the seed, so two seeds of the training
split can repeat prompts but no training prompt is ever a test prompt. Every example fits
the student's 64-character context once written in the chat template (chat.py).
"""

from __future__ import annotations

import functools
import random
import re
import zlib
from dataclasses import dataclass
from typing import Callable

from rawweights_jax.data.shakespeare import shakespeare_text
from rawweights_jax.posttrain.chat import answer_of

SPLITS = ("train", "test")
SPEAKERS = ("ROMEO", "PETRUCHIO", "CORIOLANUS", "LEONTES")   # four plays, four voices
LINE_CHARS = 40          # a speaker prompt's line is cut to this many characters


def split_of(prompt: str) -> str:
    """The split a prompt belongs to, fixed by its text: one in five is held out."""
    return "test" if zlib.crc32(prompt.encode()) % 5 == 0 else "train"


def _check(n, seed, split):
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n={n!r} is invalid: expected an integer >= 1")
    if not isinstance(seed, int):
        raise ValueError(f"seed={seed!r} is invalid: expected an integer")
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is invalid: expected one of {SPLITS}")


def _draw(n, seed, split, sample: Callable[[random.Random], str], answer: Callable[[str], str]):
    """n (prompt, answer) of `split`, prompts drawn by `sample` from a seeded generator."""
    _check(n, seed, split)
    rng = random.Random(f"{seed}-{split}")
    out = []
    while len(out) < n:
        prompt = sample(rng)
        if split_of(prompt) == split:
            out.append((prompt, answer(prompt)))
    return out


# --------------------------------------------------------------------------- add3
def _add3_answer(prompt: str) -> str:
    m = re.fullmatch(r"(\d{3})\+(\d{3})", prompt)
    if m is None:
        raise ValueError(f"{prompt!r} is not an add3 prompt (expected 'ddd+ddd')")
    return str(int(m[1]) + int(m[2]))


def make_add3(n: int, seed: int, split: str = "train"):
    """n three-digit additions, e.g. ("123+456", "579")."""
    return _draw(n, seed, split, lambda r: f"{r.randint(100, 999)}+{r.randint(100, 999)}", _add3_answer)


# --------------------------------------------------------------------------- words of the play
@functools.lru_cache(maxsize=1)
def words() -> tuple[str, ...]:
    """The distinct lower-case words of tiny Shakespeare of 3 to 8 letters, sorted."""
    found = re.findall(r"[a-z]+", shakespeare_text())
    return tuple(sorted({w for w in found if 3 <= len(w) <= 8}))


def _reverse_answer(prompt: str) -> str:
    if not re.fullmatch(r"rev:[a-z]+", prompt):
        raise ValueError(f"{prompt!r} is not a reverse prompt (expected 'rev:<word>')")
    return prompt[4:][::-1]


def make_reverse(n: int, seed: int, split: str = "train"):
    """n words backwards, e.g. ("rev:night", "thgin")."""
    return _draw(n, seed, split, lambda r: "rev:" + r.choice(words()), _reverse_answer)


def _count_answer(prompt: str) -> str:
    m = re.fullmatch(r"count ([a-z]):([a-z]+)", prompt)
    if m is None:
        raise ValueError(f"{prompt!r} is not a count prompt (expected 'count <letter>:<word>')")
    return str(m[2].count(m[1]))


def _count_prompt(rng: random.Random) -> str:
    word = rng.choice(words())
    # mostly a letter of the word (answers 1-3), sometimes any letter (often 0)
    letter = rng.choice(word) if rng.random() < 0.75 else rng.choice("abcdefghijklmnopqrstuvwxyz")
    return f"count {letter}:{word}"


def make_count(n: int, seed: int, split: str = "train"):
    """n letter counts, e.g. ("count e:beseech", "3")."""
    return _draw(n, seed, split, _count_prompt, _count_answer)


# --------------------------------------------------------------------------- speaker
@functools.lru_cache(maxsize=1)
def speaker_lines() -> dict[str, frozenset[str]]:
    """Prompt "who:<line>" -> the SPEAKERS who say that line (cut to LINE_CHARS characters)."""
    found: dict[str, set[str]] = {}
    for block in shakespeare_text().split("\n\n"):
        head, *lines = block.split("\n")
        if head[:-1] in SPEAKERS and head.endswith(":"):
            for line in lines:
                line = line.strip()[:LINE_CHARS].strip()
                if len(line) >= 12:             # "Ay." names nobody
                    found.setdefault("who:" + line, set()).add(head[:-1])
    return {p: frozenset(s) for p, s in found.items()}


def _speaker_answer(prompt: str) -> str:
    speakers = speaker_lines().get(prompt)
    if not speakers:
        raise ValueError(f"{prompt!r} is not a line of {', '.join(SPEAKERS)}")
    return min(speakers)


def make_speaker(n: int, seed: int, split: str = "train"):
    """n lines with their speaker, e.g. ("who:But soft, what light through yonder", "ROMEO")."""
    prompts = sorted(speaker_lines())
    return _draw(n, seed, split, lambda r: r.choice(prompts), _speaker_answer)


def _grade_speaker(prompt: str, completion: str) -> bool:
    return answer_of(completion) in speaker_lines().get(prompt, ())


# --------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Task:
    """A graded exercise: examples, a grader, and how long an answer can be."""

    name: str
    make: Callable[..., list[tuple[str, str]]]
    grade: Callable[[str, str], bool]
    max_answer: int          # characters of the longest answer, the end marker included


def _grade_by(answer: Callable[[str], str]) -> Callable[[str, str], bool]:
    def grade(prompt: str, completion: str) -> bool:
        """True when the completion, up to the end marker, is the prompt's answer."""
        return answer_of(completion) == answer(prompt)
    return grade


TASKS: dict[str, Task] = {
    "add3": Task("add3", make_add3, _grade_by(_add3_answer), 5),
    "reverse": Task("reverse", make_reverse, _grade_by(_reverse_answer), 9),
    "count": Task("count", make_count, _grade_by(_count_answer), 2),
    "speaker": Task("speaker", make_speaker, _grade_speaker, max(map(len, SPEAKERS)) + 1),
}
"""Every task by name."""


def task(name: str) -> Task:
    """The task called `name`; a clear error for an unknown one."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}: expected one of {', '.join(TASKS)}")
    return TASKS[name]


def grade(name: str, prompt: str, completion: str) -> bool:
    """Grade a completion of a prompt of the task `name`."""
    return task(name).grade(prompt, completion)


def mixed(n_per_task: int, seed: int, split: str = "train", names=tuple(TASKS)) -> list[tuple[str, str, str]]:
    """(task name, prompt, answer) for n_per_task examples of each task, shuffled."""
    rows = [(name, p, a) for name in names for p, a in task(name).make(n_per_task, seed, split)]
    random.Random(seed).shuffle(rows)
    return rows
