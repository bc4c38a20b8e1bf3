"""Constrained decoding, part one: a grammar of tool calls compiled to an automaton over the
model's characters.

A grammar is written with five combinators (`lit`, `chars`, `seq`, `alt`, `repeat`), turned
into a Thompson NFA and then, by the subset construction, into a deterministic automaton whose
alphabet is the tokenizer's vocabulary. The result is one integer table, `next_SV`: from state
s, token v leads to `next_SV[s, v]`, or to the dead state when v cannot continue any string of
the grammar. A decoder (decode.py) keeps one state per row and, before each choice, sets the
logits of the tokens that lead to the dead state to -inf: whatever the model prefers, the text
stays a prefix of the grammar, and it ends in an accepting state if the step budget covers the
grammar's longest string (`max_len`).

Why our own automaton and not `outlines-core` (the Rust core of Outlines, Willard & Louf 2023,
"Efficient Guided Generation for Large Language Models"): its `Index` solves the harder
problem of a BPE vocabulary, where one token spells several characters and so walks several
automaton edges; it needs the vocabulary's token strings and an end-of-sequence token and
compiles from a regular expression. Our student's tokens are single characters, so a token is
exactly one edge and the whole construction fits on a page a reader can check, with no
compiled dependency. For a BPE model, outlines-core's index is the tool to reach for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


# --------------------------------------------------------------------------- the grammar's terms
@dataclass(frozen=True)
class Chars:
    """One character out of a set."""
    options: frozenset


@dataclass(frozen=True)
class Seq:
    parts: tuple


@dataclass(frozen=True)
class Alt:
    options: tuple


@dataclass(frozen=True)
class Repeat:
    part: object
    lo: int
    hi: int


def chars(options: str) -> Chars:
    if not options:
        raise ValueError("chars('') matches nothing: give at least one character")
    return Chars(frozenset(options))


def lit(text: str) -> Seq:
    if not text:
        raise ValueError("lit('') is empty: use seq() for the empty string")
    return Seq(tuple(Chars(frozenset(c)) for c in text))


def seq(*parts) -> Seq:
    return Seq(tuple(parts))


def alt(*options) -> Alt:
    if not options:
        raise ValueError("alt() needs at least one option")
    return Alt(tuple(options))


def repeat(part, lo: int, hi: int) -> Repeat:
    """`part` between lo and hi times. Bounded on purpose: a finite grammar has a longest string,
    so a decoder with that many steps always finishes inside it."""
    if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo <= hi and hi >= 1):
        raise ValueError(f"repeat(lo={lo!r}, hi={hi!r}): expected integers 0 <= lo <= hi, hi >= 1")
    return Repeat(part, lo, hi)


def max_len(term) -> int:
    """Length of the longest string the term matches."""
    if isinstance(term, Chars):
        return 1
    if isinstance(term, Seq):
        return sum(max_len(p) for p in term.parts)
    if isinstance(term, Alt):
        return max(max_len(p) for p in term.options)
    return term.hi * max_len(term.part)


# --------------------------------------------------------------------------- NFA, then DFA
class _NFA:
    """States are ints; `eps[s]` the states reached for free, `edges[s]` (charset, target)."""

    def __init__(self):
        self.eps: list[list[int]] = []
        self.edges: list[list[tuple[frozenset, int]]] = []

    def state(self) -> int:
        self.eps.append([])
        self.edges.append([])
        return len(self.eps) - 1

    def build(self, term) -> tuple[int, int]:
        """(start, end) of a fragment matching `term` (Thompson's construction)."""
        start, end = self.state(), self.state()
        if isinstance(term, Chars):
            self.edges[start].append((term.options, end))
        elif isinstance(term, Seq):
            at = start
            for part in term.parts:
                s, e = self.build(part)
                self.eps[at].append(s)
                at = e
            self.eps[at].append(end)
        elif isinstance(term, Alt):
            for option in term.options:
                s, e = self.build(option)
                self.eps[start].append(s)
                self.eps[e].append(end)
        elif isinstance(term, Repeat):
            at = start
            for i in range(term.hi):
                if i >= term.lo:              # enough copies: may stop here
                    self.eps[at].append(end)
                s, e = self.build(term.part)
                self.eps[at].append(s)
                at = e
            self.eps[at].append(end)
        else:
            raise TypeError(f"not a grammar term: {term!r}")
        return start, end

    def closure(self, states) -> frozenset:
        seen, todo = set(states), list(states)
        while todo:
            for t in self.eps[todo.pop()]:
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        return frozenset(seen)


@dataclass(frozen=True)
class Automaton:
    """A deterministic automaton over token ids. State 0 starts; state `dead` (the last row)
    is where every forbidden token leads, and it never leaves. `accept_S` marks states that end
    a complete string; `done_S` those that also allow nothing more (the decoder stops there)."""

    next_SV: np.ndarray      # int32 [S + 1, V]
    accept_S: np.ndarray     # bool [S + 1]
    done_S: np.ndarray       # bool [S + 1]
    max_len: int
    vocab: str               # the characters of token ids 0..V-1

    @property
    def dead(self) -> int:
        return self.next_SV.shape[0] - 1

    def allowed_SV(self) -> np.ndarray:
        return self.next_SV != self.dead

    def walk(self, ids, state: int = 0) -> int:
        for i in ids:
            state = int(self.next_SV[state, int(i)])
        return state

    def accepts(self, text: str) -> bool:
        """Whether `text` is a complete string of the grammar (characters outside the vocabulary
        are simply rejected)."""
        index = {c: i for i, c in enumerate(self.vocab)}
        if any(c not in index for c in text):
            return False
        return bool(self.accept_S[self.walk(index[c] for c in text)])


def compile_grammar(term, vocab: str) -> Automaton:
    """The automaton of `term` over the characters `vocab` (token id i spells vocab[i]).

    Raises ValueError naming the grammar's characters the vocabulary lacks: such a grammar
    would silently lose those strings."""
    nfa = _NFA()
    start, end = nfa.build(term)
    used = set().union(*(cs for edges in nfa.edges for cs, _ in edges))
    missing = sorted(used - set(vocab))
    if missing:
        raise ValueError(f"the grammar uses characters {''.join(missing)!r} that the vocabulary "
                         f"of {len(vocab)} characters lacks: extend the vocabulary first")
    states = {nfa.closure([start]): 0}
    order, rows = [nfa.closure([start])], []
    while len(rows) < len(order):                   # subset construction, breadth first
        here = order[len(rows)]
        row = []
        for c in vocab:
            targets = [t for s in here for cs, t in nfa.edges[s] if c in cs]
            if not targets:
                row.append(-1)
                continue
            there = nfa.closure(targets)
            if there not in states:
                states[there] = len(order)
                order.append(there)
            row.append(states[there])
        rows.append(row)
    S = len(order)
    next_SV = np.asarray(rows + [[S] * len(vocab)], np.int32)
    next_SV[next_SV < 0] = S
    accept_S = np.asarray([end in st for st in order] + [False])
    done_S = accept_S & (next_SV == S).all(axis=1)
    return Automaton(next_SV, accept_S, done_S, max_len(term), vocab)
