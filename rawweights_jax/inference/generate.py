"""The performance: generating text one token at a time, with a KV cache, in one compiled loop.

Generation has two phases. *Prefill* runs the prompt through the model once, filling the
cache with every layer's keys and values. *Decode* then feeds one new token per step: its
query attends to the cached keys, so a step costs one token's worth of matrix-vector products
instead of re-reading the whole sequence.

The cache has a fixed number of slots (the model's context length), so every decode step has
the same shapes and the whole loop compiles once into a `lax.fori_loop`: no Python runs
between tokens. Prompts of different lengths are left-padded; padding slots hold the EMPTY
position and are never attended to. When a sequence outgrows the context, the most recent
half-context of tokens is prefilled again and decoding continues.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.sharding import Mesh

from rawweights_jax.inference.sampling import Sampling, sample_logits
from rawweights_jax.kvcache.cache import KVCache
from rawweights_jax.model.gpt import GPT
from rawweights_jax.parallel.sharding import shard_weights

PAD_MULTIPLE = 32   # longer prompts are padded to a multiple of this (pad_width), so few
                    # lengths get compiled


def pad_width(n: int) -> int:
    """The padded length of an n-token prompt: the next power of two below PAD_MULTIPLE, else
    the next multiple of it. Few widths get compiled, and a one-token prompt is prefilled as
    one token, not 32 (a 32-token prefill of the 10.7M-parameter model costs about 13 ms)."""
    if n >= PAD_MULTIPLE:
        return -(-n // PAD_MULTIPLE) * PAD_MULTIPLE
    return 1 << max(n - 1, 0).bit_length()


# --8<-- [start:decode_loop]
@functools.partial(jax.jit, static_argnames=("graphdef", "n_new", "sampling", "with_logits", "kv_bits"))
def _generate_cached(graphdef, params, tokens_BT, valid_BT, key, *, n_new: int,
                     sampling: Sampling, with_logits: bool = False, kv_bits: int | None = None):
    model = nnx.merge(graphdef, params)
    B = tokens_BT.shape[0]
    # Slots for the prompt and every new token, never more than the context: a model with a
    # 128k-token context does not allocate a 128k-slot cache for a short answer.
    slots = min(model.cfg.context_len, -(-(tokens_BT.shape[1] + n_new) // PAD_MULTIPLE) * PAD_MULTIPLE)
    cache = KVCache.empty(model.cfg, B, slots, params_dtype(params), kv_bits)
    logits_BTV, cache = model.step(tokens_BT, cache, valid_BT)          # prefill
    logits_BV = logits_BTV[:, -1]
    new_tokens = jnp.zeros((B, n_new), jnp.int32)
    new_logits = jnp.zeros((B, n_new, logits_BV.shape[-1]) if with_logits else (0,), jnp.float32)

    def decode(i, carry):                                                # one token per step
        logits_BV, cache, new_tokens, new_logits = carry
        if with_logits:
            new_logits = new_logits.at[:, i].set(logits_BV)
        tok_B = sample_logits(logits_BV, jax.random.fold_in(key, i), sampling)
        new_tokens = new_tokens.at[:, i].set(tok_B)
        logits_B1V, cache = model.step(tok_B[:, None], cache)
        return logits_B1V[:, 0], cache, new_tokens, new_logits

    _, _, new_tokens, new_logits = jax.lax.fori_loop(0, n_new, decode, (logits_BV, cache, new_tokens, new_logits))
    return new_tokens, new_logits
# --8<-- [end:decode_loop]


@functools.partial(jax.jit, static_argnames=("graphdef", "n_new", "sampling"))
def _generate_uncached(graphdef, params, buf_BT, len_B, key, *, n_new: int, sampling: Sampling):
    """The same loop without a cache: every step re-reads the whole sequence (for comparison)."""
    model = nnx.merge(graphdef, params)

    def decode(i, carry):
        buf_BT, len_B = carry
        logits_BTV = model(buf_BT)
        logits_BV = jnp.take_along_axis(logits_BTV, (len_B - 1)[:, None, None], axis=1)[:, 0]
        tok_B = sample_logits(logits_BV, jax.random.fold_in(key, i), sampling)
        buf_BT = buf_BT.at[jnp.arange(buf_BT.shape[0]), len_B].set(tok_B)
        return buf_BT, len_B + 1

    buf_BT, _ = jax.lax.fori_loop(0, n_new, decode, (buf_BT, len_B))
    return buf_BT


def params_dtype(params):
    """The float type of the model's weights (the KV cache's): quantized weights store integers."""
    return next(x.dtype for x in jax.tree.leaves(params) if jnp.issubdtype(x.dtype, jnp.floating))


def left_pad(rows: list[list[int]], width: int):
    tokens_BT = np.zeros((len(rows), width), np.int32)
    valid_BT = np.zeros((len(rows), width), bool)
    for b, row in enumerate(rows):
        if row:
            tokens_BT[b, width - len(row):], valid_BT[b, width - len(row):] = row, True
    return jnp.asarray(tokens_BT), jnp.asarray(valid_BT)


def _check(model: GPT, prompts) -> list[list[int]]:
    rows = [list(map(int, p)) for p in prompts]
    if not rows:
        raise ValueError("no prompts given")
    V = model.cfg.vocab_size
    for b, row in enumerate(rows):
        if not row:
            raise ValueError(f"prompt {b} is empty: give at least one token")
        bad = [t for t in row if not 0 <= t < V]
        if bad:
            raise ValueError(f"prompt {b} holds token id {bad[0]}, outside the vocabulary [0, {V})")
    return rows


def generate(model: GPT, prompts, max_new_tokens: int, *, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, seed: int = 0,
             use_cache: bool = True, vocab: int | None = None,
             mesh: Mesh | None = None, kv_bits: int | None = None) -> list[list[int]]:
    """Continue each prompt (a list of token ids) by `max_new_tokens` sampled tokens.

    Returns the new tokens of each row. Equal seeds give equal outputs. `vocab` limits the
    choice to ids below it (pass the tokenizer's size when the model's vocabulary is padded).
    With a `mesh`, each weight matrix is split over its devices (tensor parallelism,
    parallel/sharding.py); place the model there once with `shard_model(model, mesh)` and
    repeated calls find the weights already split (on the 10.7M-parameter model, splitting
    costs about 20 ms, 7% of a 64-token call). `kv_bits=8` keeps the KV cache in int8 with
    one scale per token and head (kvcache/cache.py `Int8KV`): a quarter of float32's bytes.
    """
    if not (isinstance(max_new_tokens, int) and max_new_tokens >= 1):
        raise ValueError(f"max_new_tokens={max_new_tokens!r} is invalid: expected an integer >= 1")
    sampling = Sampling(float(temperature), top_k, top_p, vocab)
    rows = _check(model, prompts)
    graphdef, params = nnx.split(model, nnx.Param)
    params = shard_weights(params, mesh)       # a no-op for weights already placed
    key = jax.random.key(seed)
    ctx = model.cfg.context_len
    if not use_cache:
        if kv_bits:
            raise ValueError("kv_bits needs the KV cache: it cannot be combined with use_cache=False")
        return _uncached(graphdef, params, rows, max_new_tokens, key, sampling, ctx)
    new: list[list[int]] = [[] for _ in rows]
    chunk = 0
    while len(new[0]) < max_new_tokens:
        history, width, n_new = next_chunk([r + n for r, n in zip(rows, new)], ctx,
                                           max_new_tokens - len(new[0]), first=not chunk)
        tokens_BT, valid_BT = left_pad(history, width)
        new_tokens, _ = _generate_cached(graphdef, params, tokens_BT, valid_BT,
                                     jax.random.fold_in(key, chunk), n_new=n_new, sampling=sampling,
                                     kv_bits=kv_bits)
        for row, toks in zip(new, np.asarray(new_tokens).tolist()):
            row.extend(toks)
        chunk += 1
    return new


def next_chunk(texts: list[list[int]], ctx: int, remaining: int, first: bool):
    """(history, width, n_new) of the next compiled call: what each row keeps of its text (all
    of it that fits, leaving one slot, at first; the latest half-context after), the padded
    width it is prefilled at, and how many tokens that call generates. Speculative decoding
    (speculative.py) cuts its calls at the same places, so its greedy text is this decoder's."""
    keep = ctx - 1 if first else ctx // 2
    history = [t[-keep:] for t in texts]
    longest = max(map(len, history))
    width = min(pad_width(longest), keep)
    # Padding to a round width must not push a request that fits the context into a
    # second chunk (a 3-token prompt padded to 4 leaves room for 252 new tokens, not 253).
    width = max(longest, min(width, ctx - remaining))
    return history, width, min(remaining, ctx - width)


def _uncached(graphdef, params, rows, max_new_tokens, key, sampling, ctx):
    longest = max(map(len, rows))
    if longest + max_new_tokens > ctx:
        raise ValueError(f"uncached generation is limited to the context: prompt ({longest}) + "
                         f"max_new_tokens ({max_new_tokens}) > context_len ({ctx})")
    width = min(ctx, -(-(longest + max_new_tokens) // PAD_MULTIPLE) * PAD_MULTIPLE)
    buf_BT = np.zeros((len(rows), width), np.int32)
    for b, row in enumerate(rows):
        buf_BT[b, :len(row)] = row
    len_B = jnp.asarray([len(r) for r in rows], jnp.int32)
    buf_BT = _generate_uncached(graphdef, params, jnp.asarray(buf_BT), len_B, key,
                                n_new=max_new_tokens, sampling=sampling)
    buf = np.asarray(buf_BT)
    return [buf[b, len(r):len(r) + max_new_tokens].tolist() for b, r in enumerate(rows)]


def cached_logits(model: GPT, prompt, n_new: int):
    """Greedy continuation of one prompt with the logits seen before each new token (for tests)."""
    graphdef, params = nnx.split(model, nnx.Param)
    tokens_BT, valid_BT = left_pad(_check(model, [prompt]), len(prompt))
    new_tokens, new_logits = _generate_cached(graphdef, params, tokens_BT, valid_BT, jax.random.key(0),
                                        n_new=n_new, sampling=Sampling(0.0), with_logits=True)
    return new_tokens[0], new_logits[0]
