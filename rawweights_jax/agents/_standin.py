"""Private stand-in for posttrain.chat.extend_vocab and posttrain.sft.finetune until branch
`sft` lands (same signatures); deleted at the merge."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from rawweights_jax.data.tokenizer import CharTokenizer


def extend_vocab(model, tokenizer, new_chars):
    added = "".join(dict.fromkeys(c for c in new_chars if c not in tokenizer.index))
    model = nnx.clone(model)
    n = len(added)
    if not n:
        return model, tokenizer
    wte_VD = model.wte_VD[...]
    model.wte_VD = nnx.Param(jnp.concatenate([wte_VD, jnp.repeat(wte_VD.mean(0, keepdims=True), n, 0)]))
    if model.lm_head_DV is not None:
        head_DV = model.lm_head_DV[...]
        model.lm_head_DV = nnx.Param(jnp.concatenate([head_DV, jnp.repeat(head_DV.mean(1, keepdims=True), n, 1)], 1))
    model.cfg = model.cfg.replace(vocab_size=model.cfg.vocab_size + n)
    return model, CharTokenizer(tokenizer.chars + added)


def finetune(model, x_NT, y_NT, mask_NT, *, steps, batch, lr, seed, progress=None, log_every=50):
    graphdef, params = nnx.split(model, nnx.Param)
    warmup = max(1, min(50, steps // 10))
    sched = optax.warmup_cosine_decay_schedule(0.0, lr, warmup, max(steps, warmup + 1), lr / 10)
    opt = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(sched, b2=0.99, weight_decay=0.01))
    data = tuple(jnp.asarray(a) for a in (x_NT, y_NT, mask_NT))
    N = data[0].shape[0]

    def loss_of(p, x, y, m):
        logits = nnx.merge(graphdef, p)(x).astype(jnp.float32)
        lp = jnp.take_along_axis(jax.nn.log_softmax(logits, -1), y[..., None], -1)[..., 0]
        m = m.astype(jnp.float32)
        return -(lp * m).sum() / jnp.maximum(m.sum(), 1.0)

    @jax.jit
    def step(params, opt_state, i):
        rows = jax.random.randint(jax.random.fold_in(jax.random.key(seed), i), (batch,), 0, N)
        loss, grads = jax.value_and_grad(loss_of)(params, *(a[rows] for a in data))
        with jax.numpy_dtype_promotion("standard"):
            updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    opt_state = opt.init(params)
    hist = {"step": [], "loss": []}
    for i in range(steps):
        params, opt_state, loss = step(params, opt_state, jnp.int32(i))
        if i % log_every == 0 or i == steps - 1:
            hist["step"].append(i)
            hist["loss"].append(float(loss))
            if progress is not None:
                progress(f"step {i:5d}/{steps}  masked loss {float(loss):.4f}")
    return nnx.merge(graphdef, params), hist
