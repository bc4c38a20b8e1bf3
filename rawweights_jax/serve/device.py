"""The engine's compiled calls: a prefill step (one request's prompt through a one-row view of
the page pools) and a decode call (several steps of every row in one compiled loop). Each row
draws from its own seed and token index, never from its neighbours, so what a request produces
does not depend on the batch it runs in.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from flax import nnx

from rawweights_jax.inference.sampling import sample_rows


def draw(logits_BV, seeds_B2, counters_B, temp_B, top_p_B, vocab: int):
    """Each row's next token, from its own seed and token index (never from its neighbours)."""
    keys_B = jax.vmap(lambda s, c: jax.random.fold_in(
        jax.random.fold_in(jax.random.key(s[0]), s[1]), c))(seeds_B2, counters_B)
    return sample_rows(logits_BV, keys_B, temp_B, top_p_B, vocab)


@functools.partial(jax.jit, static_argnames=("graphdef", "vocab"), donate_argnames=("cache",))
def prefill_call(graphdef, params, cache, tokens_BT, valid_BT, last_B, seeds_B2, counters_B,
                 temp_B, top_p_B, *, vocab: int):
    """Feed tokens to every row and draw each row's next token from its last valid position
    (a prefill: one row, its prompt)."""
    logits_BTV, cache = nnx.merge(graphdef, params).step(tokens_BT, cache, valid_BT)
    logits_BV = jnp.take_along_axis(logits_BTV, last_B[:, None, None], axis=1)[:, 0]
    return draw(logits_BV, seeds_B2, counters_B, temp_B, top_p_B, vocab), cache


# --8<-- [start:decode_steps]
@functools.partial(jax.jit, static_argnames=("graphdef", "vocab", "n_steps"),
                   donate_argnames=("cache",))
def decode_call(graphdef, params, cache, tokens_B, steps_B, seeds_B2, counters_B, temp_B,
                top_p_B, *, vocab: int, n_steps: int):
    """`n_steps` decode steps of every slot in one compiled loop: row b feeds its last token
    and draws the next for its first steps_B[b] steps, then idles (takes no position, writes
    nothing). Returns the drawn tokens [B, n_steps] (a row's are valid up to its steps_B)."""
    model = nnx.merge(graphdef, params)

    def one(i, carry):
        cache, tokens_B, out_BN = carry
        valid_B = i < steps_B
        logits_BTV, cache = model.step(tokens_B[:, None], cache, valid_B[:, None])
        nxt_B = draw(logits_BTV[:, 0], seeds_B2, counters_B + i, temp_B, top_p_B, vocab)
        nxt_B = jnp.where(valid_B, nxt_B, tokens_B)
        return cache, nxt_B, out_BN.at[:, i].set(nxt_B)

    out_BN = jnp.zeros((tokens_B.shape[0], n_steps), jnp.int32)
    cache, _, out_BN = jax.lax.fori_loop(0, n_steps, one, (cache, tokens_B, out_BN))
    return out_BN, cache
# --8<-- [end:decode_steps]
