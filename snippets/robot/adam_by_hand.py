"""Adam's update rule written out in NumPy, checked against optax on the model's real gradients.

Three gradients of the untrained robot student (three batches of tiny Shakespeare) go through
`optax.adam` and through the five lines of the rule; the two must agree. Then the first step
of SGD and of Adam are compared weight by weight: how far does each weight move?

Run on its own: python snippets/robot/adam_by_hand.py
"""

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
from flax import nnx

from rawweights_jax.config import preset
from rawweights_jax.data.shakespeare import load_shakespeare
from rawweights_jax.data.batches import sample_batch
from rawweights_jax.train.loss import cross_entropy
from rawweights_jax.train.trainer import init_state

cfg = preset("shakespeare-char-cpu")
graphdef, state = init_state(cfg)
train_Z = jnp.asarray(load_shakespeare().train_Z)


@jax.jit
def gradient(params, key):
    x_BT, y_BT = sample_batch(train_Z, key, cfg.train.batch_size, cfg.model.context_len)
    return jax.grad(lambda p: cross_entropy(nnx.merge(graphdef, p)(x_BT), y_BT))(params)


key = jax.random.key(0)
grads = [gradient(state.params, jax.random.fold_in(key, i)) for i in range(3)]
flat = lambda tree: np.concatenate([np.ravel(x) for x in jax.tree.leaves(tree)])

# --8<-- [start:by-hand]
lr, b1, b2, eps = 1e-3, cfg.train.beta1, cfg.train.beta2, 1e-8
m = v = 0.0
for t, g in enumerate(map(flat, grads), start=1):
    m = b1 * m + (1 - b1) * g        # running mean of the gradient
    v = b2 * v + (1 - b2) * g**2     # running mean of its square
    m_hat = m / (1 - b1**t)          # undo the pull to their zero start
    v_hat = v / (1 - b2**t)
    step = -lr * m_hat / (np.sqrt(v_hat) + eps)

adam = optax.adam(lr, b1=b1, b2=b2, eps=eps)
opt_state = adam.init(state.params)
for g in grads:
    updates, opt_state = adam.update(g, opt_state, state.params)
gap = np.abs(step - flat(updates)).max()
print(f"{step.size:,} weights, 3 steps: "
      f"largest |by hand - optax| = {gap:.1e}")
print(f"(for steps of size about {lr:g})")
# --8<-- [end:by-hand]

# --8<-- [start:first-step]
g = flat(grads[0])
sgd_step = np.abs(0.1 * g)            # SGD, at the race's learning rate
adam_step = np.abs(lr * g / (np.sqrt(g**2) + eps))   # m_hat / sqrt(v_hat)
print("how far one weight moves in the first step, percentiles:")
print(f"{'':16}{'1%':>10}{'50%':>10}{'99%':>10}")
for name, s in [("SGD, lr 0.1", sgd_step), ("Adam, lr 0.001", adam_step)]:
    lo, mid, hi = np.percentile(s[s > 0], [1, 50, 99])
    print(f"{name:16}{lo:10.1e}{mid:10.1e}{hi:10.1e}")
# --8<-- [end:first-step]

fig, ax = plt.subplots(figsize=(6.4, 2.8))
bins = np.linspace(-12, -1, 90)
ax.hist(np.log10(sgd_step[sgd_step > 0]), bins=bins, color="C0", alpha=0.8, label="SGD, lr 0.1")
ax.hist(np.log10(adam_step[adam_step > 0]), bins=bins, color="C2", alpha=0.8, label="Adam, lr 0.001")
ax.set_yscale("log")
ax.set_xlabel("log10 of how far a weight moves in the first step")
ax.set_ylabel("number of weights")
ax.set_title("The first step, weight by weight")
ax.legend()
plt.show()
