"""Constrained decoding, part two: the decode loop that applies the automaton's mask.

Each row of the batch carries its automaton state. Before a token is chosen, the logits of
every token that would lead to the dead state are set to -inf; the chosen token then moves
the state along. The mask costs one gather per step (`next_SV[state_B]`), inside the same
compiled step as the model: the prompt is prefilled into the KV cache once, then each step
feeds one token. A row stops when its state is `done` (nothing may follow), and the loop stops
when every row has.

With `constrained=False` the same loop runs without the mask but still walks the automaton,
so the caller learns which outputs parse: the unconstrained parse rate is measured by the
same code path as the constrained one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from rawweights_jax.agents.grammar import Automaton
from rawweights_jax.inference.generate import left_pad, params_dtype
from rawweights_jax.kvcache.cache import KVCache


@dataclass(frozen=True)
class Decoded:
    texts: list[str]          # what each row wrote
    parsed: list[bool]        # whether it is a complete string of the grammar
    steps: int                # decode steps run (the longest row's length)


@functools.partial(jax.jit, static_argnames=("graphdef",))
def _prefill(graphdef, params, tokens_BT, valid_BT, cache):
    logits_BTV, cache = nnx.merge(graphdef, params).step(tokens_BT, cache, valid_BT)
    return logits_BTV[:, -1], cache


# --8<-- [start:masked_step]
@functools.partial(jax.jit, static_argnames=("graphdef", "constrained"))
def _masked_step(graphdef, params, logits_BV, cache, state_B, next_SV, key, temperature,
                 *, constrained: bool):
    dead = next_SV.shape[0] - 1
    logits_BV = logits_BV[:, :next_SV.shape[1]].astype(jnp.float32)   # the tokenizer's ids only
    if constrained:   # tokens that leave the grammar get no probability at all
        logits_BV = jnp.where(next_SV[state_B] != dead, logits_BV, -jnp.inf)
    sampled_B = jax.random.categorical(key, logits_BV / jnp.maximum(temperature, 1e-6), axis=-1)
    tok_B = jnp.where(temperature > 0, sampled_B, jnp.argmax(logits_BV, axis=-1)).astype(jnp.int32)
    state_B = next_SV[state_B, tok_B]
    logits_B1V, cache = nnx.merge(graphdef, params).step(tok_B[:, None], cache)
    return tok_B, state_B, logits_B1V[:, 0], cache
# --8<-- [end:masked_step]


def decode(model, tokenizer, prompts: list[str], automaton: Automaton, *,
           constrained: bool = True, temperature: float = 0.0, seed: int = 0,
           max_new: int | None = None) -> Decoded:
    """Continue each prompt by one turn that the automaton checks (and, if `constrained`,
    enforces). `max_new` defaults to the grammar's longest string, so a constrained turn
    always completes; the prompt and the turn must fit the model's context."""
    if not prompts:
        raise ValueError("no prompts given")
    if temperature < 0:
        raise ValueError(f"temperature={temperature!r}: expected a number >= 0")
    if automaton.vocab != tokenizer.decode(range(tokenizer.vocab_size)):
        raise ValueError("the automaton was compiled for another vocabulary than this tokenizer's")
    max_new = automaton.max_len if max_new is None else max_new
    ctx = model.cfg.context_len
    rows = [tokenizer.encode(p) for p in prompts]
    longest = max(map(len, rows))
    if longest + max_new > ctx:
        raise ValueError(f"a prompt of {longest} characters and a turn of up to {max_new} do not "
                         f"fit the context of {ctx}: shorten the prompt or the grammar")
    graphdef, params = nnx.split(model, nnx.Param)
    tokens_BT, valid_BT = left_pad(rows, longest)
    cache = KVCache.empty(model.cfg, len(rows), ctx, params_dtype(params))
    logits_BV, cache = _prefill(graphdef, params, tokens_BT, valid_BT, cache)
    next_SV = jnp.asarray(automaton.next_SV)
    state_B = jnp.zeros((len(rows),), jnp.int32)
    key, out, states = jax.random.key(seed), [], []
    stop_S = automaton.done_S.copy()
    stop_S[automaton.dead] = True          # unconstrained rows that left the grammar stop too
    finished_B = np.zeros(len(rows), bool)
    for i in range(max_new):
        tok_B, state_B, logits_BV, cache = _masked_step(
            graphdef, params, logits_BV, cache, state_B, next_SV, jax.random.fold_in(key, i),
            jnp.float32(temperature), constrained=constrained)
        s = np.asarray(state_B)
        out.append(np.where(finished_B, -1, np.asarray(tok_B)))
        states.append(s)
        finished_B |= stop_S[s]
        if finished_B.all():
            break
    toks_BN = np.stack(out, axis=1)
    texts = [tokenizer.decode([t for t in row if t >= 0]) for row in toks_BN]
    final = [automaton.walk(tokenizer.encode(t)) for t in texts]
    return Decoded(texts, [bool(automaton.accept_S[s]) for s in final], len(out))
