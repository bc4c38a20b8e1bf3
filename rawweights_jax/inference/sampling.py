"""Choosing the next token from the logits (the voting box): greedy, temperature, top-k, top-p."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp


@dataclass(frozen=True)
class Sampling:
    """How the next token is chosen from the logits (the voting box)."""

    temperature: float = 1.0   # 0 = always the top-scoring token (greedy)
    top_k: int | None = None   # keep only the k best tokens
    top_p: float | None = None  # keep the smallest set of best tokens whose probability >= p
    vocab: int | None = None   # only ids below this may be chosen (the tokenizer's vocabulary
                               # can be smaller than the model's padded one)

    def __post_init__(self):
        if not (isinstance(self.temperature, (int, float)) and self.temperature >= 0):
            raise ValueError(f"temperature={self.temperature!r} is invalid: expected a number >= 0")
        if self.top_k is not None and not (isinstance(self.top_k, int) and self.top_k >= 1):
            raise ValueError(f"top_k={self.top_k!r} is invalid: expected an integer >= 1")
        if self.top_p is not None and not (0 < self.top_p <= 1):
            raise ValueError(f"top_p={self.top_p!r} is invalid: expected a number in (0, 1]")


# --8<-- [start:sample]
def sample_logits(logits_BV, key, s: Sampling):
    """Pick one token per row: greedy at temperature 0, else sample from the filtered softmax."""
    logits_BV = logits_BV[:, :s.vocab]
    if s.temperature == 0:
        return jnp.argmax(logits_BV, axis=-1).astype(jnp.int32)
    return jax.random.categorical(key, filtered_logits(logits_BV, s), axis=-1).astype(jnp.int32)


def filtered_logits(logits_BV, s: Sampling):
    """Logits divided by the temperature, those top-k and top-p drop set to -inf."""
    logits_BV = logits_BV[:, :s.vocab].astype(jnp.float32) / s.temperature
    if s.top_k is not None and s.top_k < logits_BV.shape[-1]:
        kth_B1 = jax.lax.top_k(logits_BV, s.top_k)[0][:, -1:]
        logits_BV = jnp.where(logits_BV < kth_B1, -jnp.inf, logits_BV)
    if s.top_p is not None and s.top_p < 1:
        logits_BV = top_p_filter(logits_BV, s.top_p)
    return logits_BV


def top_p_filter(logits_BV, p):
    """Set to -inf every logit outside the smallest set of best tokens whose mass reaches p (a
    number, or one per row, [B, 1])."""
    sorted_BV = jnp.sort(logits_BV, axis=-1)[:, ::-1]
    probs_BV = jax.nn.softmax(sorted_BV, axis=-1)
    # the smallest prefix whose mass reaches p: keep a token if the mass before it < p
    n_keep_B1 = jnp.sum(jnp.cumsum(probs_BV, axis=-1) - probs_BV < p, -1, keepdims=True)
    cutoff_B1 = jnp.take_along_axis(sorted_BV, n_keep_B1 - 1, axis=-1)
    return jnp.where(logits_BV < cutoff_B1, -jnp.inf, logits_BV)
# --8<-- [end:sample]


def sample_rows(logits_BV, keys_B, temperature_B, top_p_B, vocab: int | None = None):
    """One token per row, each row with its own key, temperature (0 = greedy) and top-p: what
    a row draws depends on nothing but its own logits and settings (a server's batch mixes
    requests that must not influence each other)."""
    logits_BV = logits_BV[:, :vocab].astype(jnp.float32)
    greedy_B = jnp.argmax(logits_BV, axis=-1).astype(jnp.int32)
    scaled_BV = logits_BV / jnp.where(temperature_B > 0, temperature_B, 1.0)[:, None]
    scaled_BV = top_p_filter(scaled_BV, top_p_B[:, None])
    drawn_B = jax.vmap(lambda k, l: jax.random.categorical(k, l))(keys_B, scaled_BV).astype(jnp.int32)
    return jnp.where(temperature_B > 0, drawn_B, greedy_B)


def probabilities(logits_BV, s: Sampling):
    """The distribution `sample_logits` draws from, [B, V'] (V' = s.vocab or V); one-hot on the
    top token at temperature 0."""
    logits_BV = logits_BV[:, :s.vocab]
    if s.temperature == 0:
        return jax.nn.one_hot(jnp.argmax(logits_BV, axis=-1), logits_BV.shape[-1], dtype=jnp.float32)
    return jax.nn.softmax(filtered_logits(logits_BV, s), axis=-1)
