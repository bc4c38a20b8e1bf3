"""Training on preference pairs: DPO or SimPO with AdamW, the reference frozen and read once.

The reference model of DPO never changes, so its log-probs of every pair are computed once,
before training, and passed to the step as plain arrays: the step runs one model (the
policy), not two, and the reference cannot drift by accident. SimPO needs no reference at all.

Each step draws a batch of pairs, runs the chosen and the rejected answers through the policy
in one forward pass (2B rows), and lets AdamW (optax) move the weights down the loss's
gradient. The model is split once into a static graph and its parameters (`nnx.split`), so
the compiled step works on plain arrays.
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from rawweights_jax.posttrain.dpo import PreferenceLoss, dpo_loss, simpo_loss
from rawweights_jax.posttrain.pairs import PairArrays
from rawweights_jax.posttrain.sft import token_logprobs

LOSSES = ("dpo", "simpo")


class PrefConfig(NamedTuple):
    """One preference-training run. `gamma` is SimPO's target margin (ignored by DPO)."""

    loss: str = "dpo"
    beta: float = 0.1
    gamma: float = 0.0
    steps: int = 100
    batch: int = 32
    lr: float = 1e-4
    seed: int = 0

    def check(self) -> PrefConfig:
        if self.loss not in LOSSES:
            raise ValueError(f"loss={self.loss!r}: expected one of {', '.join(LOSSES)}")
        if not self.beta > 0:
            raise ValueError(f"beta={self.beta!r}: expected a number > 0")
        if self.gamma < 0:
            raise ValueError(f"gamma={self.gamma!r}: expected a target margin >= 0")
        for name in ("steps", "batch"):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= 1):
                raise ValueError(f"{name}={getattr(self, name)!r}: expected an integer >= 1")
        if not self.lr > 0:
            raise ValueError(f"lr={self.lr!r}: expected a learning rate > 0")
        return self


# --8<-- [start:sequence_logps]
def sequence_logps(model, x_NT, y_NT, m_NT):
    """(sum_N, mean_N): each row's log-prob of its masked targets (its answer), summed (DPO's
    log pi(y|x)) and divided by the answer's length (SimPO's length-normalised one)."""
    m_NT = jnp.asarray(m_NT, jnp.float32)
    sum_N = (token_logprobs(model, x_NT, y_NT) * m_NT).sum(-1)
    return sum_N, sum_N / jnp.maximum(m_NT.sum(-1), 1.0)   # max: a row with no answer is 0, not 0/0
# --8<-- [end:sequence_logps]


@functools.partial(jax.jit, static_argnums=0)
def _pair_logps(graphdef, params, arrays: PairArrays):
    model = nnx.merge(graphdef, params)
    x_NT = jnp.concatenate([arrays.x_c_NT, arrays.x_r_NT])
    y_NT = jnp.concatenate([arrays.y_c_NT, arrays.y_r_NT])
    m_NT = jnp.concatenate([arrays.m_c_NT, arrays.m_r_NT])
    sum_N, mean_N = sequence_logps(model, x_NT, y_NT, m_NT)
    N = arrays.x_c_NT.shape[0]
    return sum_N[:N], sum_N[N:], mean_N[:N], mean_N[N:]


def pair_logps(model, arrays: PairArrays, chunk: int = 256):
    """(sum chosen, sum rejected, mean chosen, mean rejected), each [N], in chunks of rows."""
    graphdef, params = nnx.split(model, nnx.Param)
    N = arrays.x_c_NT.shape[0]
    parts = [_pair_logps(graphdef, params, PairArrays(*(a[i:i + chunk] for a in arrays)))
             for i in range(0, N, chunk)]
    return tuple(np.concatenate([np.asarray(p[k]) for p in parts]) for k in range(4))


# --8<-- [start:preference_loss]
def preference_loss(cfg: PrefConfig, pol, ref) -> PreferenceLoss:
    """The configured loss from the policy's and the reference's pair log-probs (the 4-tuples
    of `pair_logps`: sums, then means)."""
    if cfg.loss == "dpo":
        return dpo_loss(pol[0], pol[1], ref[0], ref[1], cfg.beta)
    return simpo_loss(pol[2], pol[3], cfg.beta, cfg.gamma)
# --8<-- [end:preference_loss]


def train_preferences(model, train: PairArrays, cfg: PrefConfig, *,
                      evaluate: Callable[[int, object], dict] | None = None, eval_every: int = 0,
                      progress: Callable[[str], None] | None = None):
    """(policy, history): `model` trained on the pairs of `train`; `model` is left as it is and
    serves as the frozen reference. `evaluate(step, policy)` (if given) runs at step 0, every
    `eval_every` steps and at the end; its dicts, with the step and the mean training loss
    and accuracy since the last evaluation, make the history."""
    cfg.check()
    n = train.x_c_NT.shape[0]
    if cfg.batch > n:
        raise ValueError(f"batch={cfg.batch} is larger than the {n} training pairs")
    graphdef, params = nnx.split(nnx.clone(model), nnx.Param)
    ref = tuple(jnp.asarray(r) for r in pair_logps(model, train))      # once: the ref is frozen
    data = PairArrays(*(jnp.asarray(a) for a in train))
    optimizer = optax.adamw(cfg.lr, weight_decay=0.0)
    opt_state = optimizer.init(params)

    # --8<-- [start:step]
    @jax.jit
    def step(params, opt_state, key):
        idx_B = jax.random.choice(key, n, (cfg.batch,), replace=False)
        batch = PairArrays(*(a[idx_B] for a in data))
        ref_B = tuple(r[idx_B] for r in ref)

        def objective(params):
            out = preference_loss(cfg, _pair_logps(graphdef, params, batch), ref_B)
            return out.loss, out.accuracy

        (loss, accuracy), grads = jax.value_and_grad(objective, has_aux=True)(params)
        with jax.numpy_dtype_promotion("standard"):   # optax's bias correction mixes dtypes
            updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss, accuracy
    # --8<-- [end:step]

    history, seen = [], []
    key = jax.random.key(cfg.seed)

    def record(s):
        row = {"step": s}
        if seen:
            row["train_loss"] = float(np.mean([float(l) for l, _ in seen]))
            row["train_accuracy"] = float(np.mean([float(a) for _, a in seen]))
            seen.clear()
        if evaluate is not None:
            row.update(evaluate(s, nnx.merge(graphdef, params)))
        history.append(row)
        if progress is not None:
            progress(f"{cfg.loss} beta={cfg.beta:g} step {s}/{cfg.steps}: " + ", ".join(
                f"{k} {v:.3f}" for k, v in row.items() if k != "step" and isinstance(v, float)))

    record(0)
    for s in range(1, cfg.steps + 1):
        params, opt_state, loss, accuracy = step(params, opt_state, jax.random.fold_in(key, s))
        seen.append((loss, accuracy))
        if s == cfg.steps or (eval_every and s % eval_every == 0):
            record(s)
    return nnx.merge(graphdef, params), history
