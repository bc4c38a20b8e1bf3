"""The agent's transcript format and the grammars its two turns must follow.

A task runs as one 64-character text, written in turns:

    Q:x=123*456                 the question; "Q" says tools are available ("D": answer directly)
    [calc 123*456][put x $]     the plan, written by the model: one or two tool calls
    {56088}{56088}              the results, written by the runtime (short-term memory)
    A:56088.                    the answer, written by the model

`$` in a call stands for the previous call's result, so a plan can chain steps without the
model ever copying a number it has not seen. The plan grammar allows only well-formed calls,
the answer grammar only "A:" and an integer: decode.py applies them as masks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rawweights_jax.agents.grammar import alt, chars, lit, repeat, seq

DIGITS = "0123456789"
KEY_CHARS = "abcdefghijklmnopqrstuvwxyz"
AGENT_CHARS = DIGITS + "+*[]{}$=-"
"""Characters the transcripts use: the student's Shakespeare vocabulary lacks most of them
(it has '3', '$' and '-'); the fine-tuning adds the others."""

MAX_STEPS = 2      # calls in one plan: two 20-character calls and a 12-character question fit
                   # the 64-character context with room for the results and the answer
MAX_NUM = 6        # digits of a number in a call


# --8<-- [start:grammars]
def plan_grammar():
    """One or two tool calls, then a newline."""
    num = repeat(chars(DIGITS), 1, MAX_NUM)
    key = repeat(chars(KEY_CHARS), 1, 4)
    calc = seq(lit("[calc "), alt(num, lit("$")), chars("+-*"), num, lit("]"))
    get = seq(lit("[get "), key, lit("]"))
    put = seq(lit("[put "), key, lit(" "), alt(num, lit("$")), lit("]"))
    return seq(repeat(alt(calc, get, put), 1, MAX_STEPS), lit("\n"))


def answer_grammar():
    """'A:', an integer (maybe negative), a full stop."""
    return seq(lit("A:"), repeat(lit("-"), 0, 1), repeat(chars(DIGITS), 1, 7), lit("."))
# --8<-- [end:grammars]


@dataclass(frozen=True)
class Call:
    tool: str            # calc, get, put
    args: tuple          # calc: (expression,); get: (key,); put: (key, value or "$")

    def text(self) -> str:
        return f"[{self.tool} {' '.join(self.args)}]"


_CALL = re.compile(r"\[(calc|get|put) ([^\[\]]*)\]")


class PlanError(ValueError):
    """A plan that is not a sequence of well-formed calls."""


def parse_plan(text: str) -> list[Call]:
    """The calls of a plan line (`"[calc 1+2][put x $]\\n"`); PlanError names what is wrong."""
    body = text.rstrip("\n")
    calls, at = [], 0
    for m in _CALL.finditer(body):
        if m.start() != at:
            break
        args = tuple(m[2].split(" "))
        if len(args) != (2 if m[1] == "put" else 1) or not all(args):
            raise PlanError(f"plan {text!r}: call {m[0]!r} has the wrong arguments")
        calls.append(Call(m[1], args))
        at = m.end()
    if at != len(body) or not calls or not text.endswith("\n"):
        raise PlanError(f"plan {text!r}: expected 1-{MAX_STEPS} calls like [calc 12*34] and a "
                        f"newline (stopped at character {at})")
    return calls


def parse_answer(text: str) -> int | None:
    """The integer of an answer turn "A:123.", or None if it is not one."""
    m = re.fullmatch(r"A:(-?\d{1,7})\.", text)
    return int(m[1]) if m else None


def results_line(values: list[int]) -> str:
    return "".join(f"{{{v}}}" for v in values) + "\n"
