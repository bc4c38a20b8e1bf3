"""Supervised fine-tuning: the pretraining loss, counted only where the mask says.

Pretraining grades every next character; fine-tuning on a chat template grades only the
characters of the answer (chat.py builds the mask). The mechanics are otherwise the same:
log-probabilities of the targets, their mean over the graded positions, AdamW. The log-probs
are a function of their own because preference optimisation and RL (dpo.py, grpo.py) sum
them over an answer to score a whole sequence.

`finetune` keeps the examples on the device, splits the model into a static graph and its
parameters once, and compiles one step (sample a batch, gradient, AdamW) that the loop calls
with plain arrays; losses stay on the device until the loop ends, so Python never waits on
the step except when a progress line is asked for.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from rawweights_jax.inference.generate import generate
from rawweights_jax.posttrain.chat import answer_of, render


# --8<-- [start:logprobs]
def token_logprobs(model, x_BT, y_BT):
    """log p(y_t | x_<=t) of each target under the model, [B, T] (float32)."""
    logits_BTV = model(x_BT).astype(jnp.float32)
    logp_BTV = jax.nn.log_softmax(logits_BTV, axis=-1)
    return jnp.take_along_axis(logp_BTV, y_BT[..., None], axis=-1)[..., 0]


def masked_loss(model, x_BT, y_BT, mask_BT):
    """Mean negative log-probability over the graded targets only (mask True)."""
    mask_BT = mask_BT.astype(jnp.float32)
    # max(., 1): a batch with nothing graded has loss 0, not 0/0
    return -(token_logprobs(model, x_BT, y_BT) * mask_BT).sum() / jnp.maximum(mask_BT.sum(), 1.0)
# --8<-- [end:logprobs]


def _check(x_NT, y_NT, mask_NT, steps, batch, lr):
    if not (np.shape(x_NT) == np.shape(y_NT) == np.shape(mask_NT) and np.ndim(x_NT) == 2):
        raise ValueError(f"x, y and mask must be [N, T] arrays of one shape, got "
                         f"{np.shape(x_NT)}, {np.shape(y_NT)}, {np.shape(mask_NT)}")
    for name, value in (("steps", steps), ("batch", batch)):
        if not (isinstance(value, int) and value >= 1):
            raise ValueError(f"{name}={value!r} is invalid: expected an integer >= 1")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr={lr!r} is invalid: expected a number > 0")


def make_optimizer(steps: int, lr: float) -> optax.GradientTransformation:
    """AdamW with a short warm-up and a cosine decay to lr/10, gradients clipped at norm 1:
    the pretraining recipe's shape, over the fine-tuning's few steps."""
    warmup = max(1, min(50, steps // 10))
    schedule = optax.warmup_cosine_decay_schedule(0.0, lr, warmup, max(steps, warmup + 1), lr / 10)
    return optax.chain(optax.clip_by_global_norm(1.0),
                       optax.adamw(schedule, b2=0.99, weight_decay=0.01))


# --8<-- [start:finetune]
def finetune(model, x_NT, y_NT, mask_NT, *, steps: int, batch: int, lr: float, seed: int,
             progress: Callable[[str], None] | None = None, log_every: int = 50):
    """(fine-tuned model, history): `steps` AdamW steps on random batches of `batch` rows.

    history = {"step": [...], "loss": [...]}: the masked loss of the batch at every
    `log_every`-th step (and the last). `model` is not changed; a new model is returned.
    """
    _check(x_NT, y_NT, mask_NT, steps, batch, lr)
    graphdef, params = nnx.split(model, nnx.Param)
    optimizer = make_optimizer(steps, lr)
    data = tuple(jnp.asarray(a) for a in (x_NT, y_NT, mask_NT))
    N = data[0].shape[0]

    @jax.jit
    def step(params, opt_state, i):
        rows_B = jax.random.randint(jax.random.fold_in(jax.random.key(seed), i), (batch,), 0, N)
        x_BT, y_BT, mask_BT = (a[rows_B] for a in data)
        loss_of = lambda p: masked_loss(nnx.merge(graphdef, p), x_BT, y_BT, mask_BT)
        loss, grads = jax.value_and_grad(loss_of)(params)
        with jax.numpy_dtype_promotion("standard"):   # optax raises floats to int powers
            updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    opt_state = optimizer.init(params)
    logged = []
    for i in range(steps):
        params, opt_state, loss = step(params, opt_state, jnp.int32(i))
        if i % log_every == 0 or i == steps - 1:
            logged.append((i, loss))
            if progress is not None:
                progress(f"step {i:5d}/{steps}  masked loss {float(loss):.4f}")
    history = {"step": [i for i, _ in logged], "loss": [float(l) for _, l in logged]}
    return nnx.merge(graphdef, params), history
# --8<-- [end:finetune]


def greedy_answers(model, tokenizer, prompts, max_new: int, *, batch: int = 256) -> list[str]:
    """The student's greedy answer to each prompt (text up to the end marker), decoded with the
    compiled KV-cache generator."""
    out = []
    for start in range(0, len(prompts), batch):
        chunk = [tokenizer.encode(render(p)) for p in prompts[start:start + batch]]
        new = generate(model, chunk, max_new, temperature=0.0, vocab=tokenizer.vocab_size)
        out += [answer_of(tokenizer.decode(ids)) for ids in new]
    return out
