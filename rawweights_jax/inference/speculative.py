"""Speculative decoding: a small draft model guesses k tokens, the target checks them in one pass.

Batch-1 decoding reads every weight of the target once per token, whatever the number of
tokens fed. A target step on k + 1 tokens therefore costs little more than a step on one.
A draft model, many times smaller, proposes k tokens one by one; the target scores all of
them at once; the longest prefix the target agrees with is kept, plus one token of the
target's own. When the draft guesses well, one target pass yields several tokens.

The acceptance rule (Leviathan et al., 2023, arXiv:2211.17192; Chen et al., 2023,
arXiv:2302.01318) keeps the output distribution exactly the target's: draft token d, drawn
from the draft's q, is kept with probability min(1, p(d) / q(d)); at the first rejection
the replacement is drawn from max(p - q, 0), renormalised. Then

    P(emit x) = q(x) min(1, p(x)/q(x)) + (1 - sum_y min(p(y), q(y))) (p(x) - min(p(x), q(x))) / Z
              = min(p(x), q(x)) + p(x) - min(p(x), q(x)) = p(x),

since Z = sum_y (p(y) - min(p(y), q(y))) = 1 - sum_y min(p(y), q(y)). Greedy decoding (temperature
0) is the special case of one-hot p and q: a draft token is kept when it is the target's top
token, so the output is the target's own greedy output, token for token.

Both caches always hold the text except its newest token (`pending`). A round feeds the
pending token and the k - 1 drafts to the draft (plus the last draft, so both caches grow by
k + 1), the pending token and the k drafts to the target (k + 1 positions of logits), keeps
the accepted a drafts and rolls both caches back by k - a (kvcache/cache.py `rollback`).
The whole decode is one `lax.while_loop`: a round's shapes are static, only `a` varies.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from rawweights_jax.inference.generate import left_pad, next_chunk, params_dtype
from rawweights_jax.inference.sampling import Sampling, probabilities
from rawweights_jax.kvcache.cache import KVCache
from rawweights_jax.model.gpt import GPT


class SpeculativeResult(NamedTuple):
    tokens: list[int]        # the new tokens
    proposed: int            # draft tokens proposed
    accepted: int            # of which the target kept
    rounds: int              # target passes (one per round)

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / self.proposed if self.proposed else 0.0


# --8<-- [start:accept]
def accept(p_KV, q_KV, drafts_K, key, greedy: bool):
    """How many of the k drafts to keep, and the token that follows them.

    `p_KV` holds the target's k + 1 distributions (after the pending token and after each
    draft), `q_KV` the draft's k, `drafts_K` the drafted tokens. Returns (a, next_token):
    drafts 0..a-1 are kept; next_token comes from the residual max(p - q, 0) at the first
    rejection, or from the target's last distribution when all k are kept.
    """
    k = drafts_K.shape[0]
    p_d = jnp.take_along_axis(p_KV[:k], drafts_K[:, None], axis=1)[:, 0]
    q_d = jnp.take_along_axis(q_KV, drafts_K[:, None], axis=1)[:, 0]
    accept_key, residual_key = jax.random.split(key)
    if greedy:
        keep_K = p_d > 0.5                      # one-hot p: the draft is the target's top token
    else:
        u_K = jax.random.uniform(accept_key, (k,))
        keep_K = u_K * q_d < p_d                # u < p/q, without dividing by a zero q
    a = jnp.argmin(jnp.concatenate([keep_K, jnp.array([False])]))   # first rejection, or k
    q_pad_KV = jnp.concatenate([q_KV, jnp.zeros_like(q_KV[:1])])   # no draft after the k-th
    residual_V = jnp.maximum(p_KV[a] - q_pad_KV[a], 0.0)
    total = residual_V.sum()
    residual_V = jnp.where(total > 0, residual_V / jnp.where(total > 0, total, 1.0), p_KV[a])
    if greedy:
        next_token = jnp.argmax(residual_V)
    else:
        next_token = jax.random.categorical(residual_key, jnp.log(residual_V))
    return a.astype(jnp.int32), next_token.astype(jnp.int32)
# --8<-- [end:accept]


@functools.partial(jax.jit, static_argnames=("tgraph", "dgraph", "n_new", "k", "sampling", "slots"))
def _speculate(tgraph, tparams, dgraph, dparams, prompt_1T, valid_1T, key, *, n_new: int, k: int,
               sampling: Sampling, slots: int):
    target, draft = nnx.merge(tgraph, tparams), nnx.merge(dgraph, dparams)
    tcache = KVCache.empty(target.cfg, 1, slots, params_dtype(tparams))
    dcache = KVCache.empty(draft.cfg, 1, slots, params_dtype(dparams))
    if prompt_1T.shape[1] > 1:                     # the caches hold all but the pending token
        _, tcache = target.step(prompt_1T[:, :-1], tcache, valid_1T[:, :-1])
        _, dcache = draft.step(prompt_1T[:, :-1], dcache, valid_1T[:, :-1])
    greedy = sampling.temperature == 0
    out = jnp.zeros((n_new + k + 1,), jnp.int32)

    def one_round(carry):
        tcache, dcache, pending, out, n_out, proposed, accepted, rounds = carry
        key_r = jax.random.fold_in(key, rounds)

        def draft_step(i, c):                      # feed one token, draw the next from q
            dcache, token, drafts_K, q_KV = c
            logits_1TV, dcache = draft.step(token[None, None], dcache)
            q_V = probabilities(logits_1TV[:, 0], sampling)[0]
            nxt = jax.random.categorical(jax.random.fold_in(key_r, i), jnp.log(q_V)) if not greedy \
                else jnp.argmax(q_V)
            nxt = nxt.astype(jnp.int32)
            in_range = i < k                      # step k only writes the last draft to the cache
            drafts_K = jnp.where(in_range, drafts_K.at[jnp.minimum(i, k - 1)].set(nxt), drafts_K)
            q_KV = jnp.where(in_range, q_KV.at[jnp.minimum(i, k - 1)].set(q_V), q_KV)
            return dcache, jnp.where(in_range, nxt, token), drafts_K, q_KV

        V = sampling.vocab or draft.cfg.vocab_size
        dcache, _, drafts_K, q_KV = jax.lax.fori_loop(
            0, k + 1, draft_step, (dcache, pending, jnp.zeros((k,), jnp.int32), jnp.zeros((k, V))))
        fed_1T = jnp.concatenate([pending[None], drafts_K])[None]
        logits_1TV, tcache = target.step(fed_1T, tcache)             # one pass checks all k
        p_KV = probabilities(logits_1TV[0], sampling)
        a, nxt = accept(p_KV, q_KV, drafts_K, jax.random.fold_in(key_r, k + 1), greedy)
        emit_K1 = jnp.where(jnp.arange(k + 1) < a, jnp.concatenate([drafts_K, drafts_K[:1]]), nxt)
        out = jax.lax.dynamic_update_slice(out, emit_K1, (n_out,))
        tcache, dcache = tcache.rollback(k - a), dcache.rollback(k - a)
        return (tcache, dcache, nxt, out, n_out + a + 1, proposed + k, accepted + a, rounds + 1)

    carry = (tcache, dcache, prompt_1T[0, -1], out, jnp.int32(0), jnp.int32(0), jnp.int32(0),
             jnp.int32(0))
    carry = jax.lax.while_loop(lambda c: c[4] < n_new, one_round, carry)
    _, _, _, out, _, proposed, accepted, rounds = carry
    return out[:n_new], proposed, accepted, rounds


def check_pair(target: GPT, draft: GPT, k: int) -> None:
    """Errors a user can fix: another vocabulary, a non-positive k, a cache that cannot roll back."""
    if not (isinstance(k, int) and k >= 1):
        raise ValueError(f"speculate={k!r} is invalid: expected an integer >= 1 (tokens drafted per round)")
    if draft.cfg.vocab_size != target.cfg.vocab_size:
        raise ValueError(f"the draft's vocabulary ({draft.cfg.vocab_size} tokens) differs from the "
                         f"target's ({target.cfg.vocab_size}): both must read the same tokens")
    for name, model in (("target", target), ("draft", draft)):
        if "local" in model.cfg.layer_kinds:
            raise ValueError(f"the {name} has sliding-window layers, whose ring cache cannot take "
                             "back rejected drafts; speculative decoding needs global attention")


def speculative_generate(target: GPT, draft: GPT, prompt, max_new_tokens: int, *, k: int = 4,
                         temperature: float = 1.0, top_k: int | None = None,
                         top_p: float | None = None, seed: int = 0,
                         vocab: int | None = None) -> SpeculativeResult:
    """Continue one prompt (token ids) by `max_new_tokens` tokens, drafting `k` per round.

    The output follows the target's distribution (its greedy output at temperature 0); the
    draft changes only the speed. Past the shorter context of the two models, the most recent
    half-context is prefilled again, at the same points as `generate` (`next_chunk`). Drafts
    past a chunk's end are discarded (with learned positions they would take the last
    position's embedding; none of them is ever kept).
    """
    check_pair(target, draft, k)
    if not (isinstance(max_new_tokens, int) and max_new_tokens >= 1):
        raise ValueError(f"max_new_tokens={max_new_tokens!r} is invalid: expected an integer >= 1")
    prompt = [int(t) for t in prompt]
    V = target.cfg.vocab_size
    if not prompt or not all(0 <= t < V for t in prompt):
        raise ValueError(f"the prompt must be 1 or more token ids in [0, {V})")
    sampling = Sampling(float(temperature), top_k, top_p, vocab)
    tgraph, tparams = nnx.split(target, nnx.Param)
    dgraph, dparams = nnx.split(draft, nnx.Param)
    ctx = min(target.cfg.context_len, draft.cfg.context_len)
    if k >= ctx // 2:
        raise ValueError(f"speculate={k} leaves no room in a {ctx}-token context: use k < {ctx // 2}")
    key = jax.random.key(seed)
    new: list[int] = []
    proposed = accepted = rounds = 0
    chunk = 0
    while len(new) < max_new_tokens:
        # the same cuts and padded widths as `generate`: the same contexts, so the same greedy
        # text, and few compiled shapes; a round may write k slots past the chunk's last token
        history, width, n_new = next_chunk([prompt + new], ctx, max_new_tokens - len(new),
                                           first=not chunk)
        tokens_1T, valid_1T = left_pad(history, width)
        out, p, a, r = _speculate(tgraph, tparams, dgraph, dparams, tokens_1T, valid_1T,
                                  jax.random.fold_in(key, chunk), n_new=n_new, k=k, sampling=sampling,
                                  slots=width + n_new + k)
        new.extend(np.asarray(out).tolist())
        proposed, accepted, rounds = proposed + int(p), accepted + int(a), rounds + int(r)
        chunk += 1
    return SpeculativeResult(new, proposed, accepted, rounds)
