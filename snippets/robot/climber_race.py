"""The same robot student trained three times: plain SGD, SGD with momentum, Adam.

Everything but the optimizer is shared: the model shape (the `shakespeare-char-cpu` preset),
the initial weights, the batches (drawn from the same seeded key at each step), the loss and
the compiled training step. Each climber is the library's `Trainer` given another optimizer
(an optax value, passed in). The schedule, gradient clipping and weight decay of the library's AdamW go too, so
each update rule is compared bare, at a constant learning rate.

Run on its own: python snippets/robot/climber_race.py  (about two minutes on a 2-core CPU)
"""

import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax

from rawweights_jax.config import preset
from rawweights_jax.data.shakespeare import load_shakespeare
from rawweights_jax.train.trainer import Trainer, init_state

STEPS = 500    # the table below reads the losses at steps 100, 250 and 500
cfg = preset("shakespeare-char-cpu")
data = load_shakespeare()


# --8<-- [start:climbers]
CLIMBERS = {
    "SGD": optax.sgd(learning_rate=0.1),                        # w <- w - lr * g
    "Momentum": optax.sgd(learning_rate=0.03, momentum=0.9),    # v <- 0.9 v + g;  w <- w - lr * v
    "Adam": optax.adam(learning_rate=1e-3, b1=0.9, b2=0.99),    # per-weight steps from running
}                                                               # moments of g and g^2


def climb(optimizer):
    graphdef, state = init_state(cfg, optimizer)   # the same initial weights for all
    trainer = Trainer(cfg, graphdef, data, optimizer=optimizer)
    losses = []
    for _ in range(STEPS // 10):        # 10 steps per compiled call
        state, metrics = trainer.run_steps(state, trainer.train_Z, 10)
        losses.extend(np.asarray(metrics["loss"]))
    return np.array(losses), trainer.evaluate(state), state, trainer
# --8<-- [end:climbers]


def floats(tree) -> int:
    return sum(x.size for x in jax.tree.leaves(tree)
               if np.issubdtype(x.dtype, np.floating))


def ms_per_step(runs, rounds=7):
    """Median time of one 10-step call for each climber, timed in turns (A, B, C, A, B, C...)
    so that all three share whatever else the machine is doing at the time."""
    times = {name: [] for name in runs}
    for _ in range(rounds):
        for name, (_, _, state, trainer) in runs.items():
            state = jax.tree.map(jnp.copy, state)    # the call consumes its input state
            jax.block_until_ready(state)
            t0 = time.perf_counter()
            jax.block_until_ready(trainer.run_steps(state, trainer.train_Z, 10))
            times[name].append(time.perf_counter() - t0)
    return {name: 1000 * np.median(t) / 10 for name, t in times.items()}


# --8<-- [start:race]
runs = {name: climb(optimizer) for name, optimizer in CLIMBERS.items()}
ms = ms_per_step(runs)      # each climber timed in turns with the others

print(f"{STEPS} steps of {cfg.tokens_per_iter} characters, "
      f"same start, same batches")
print("@100, @250, @500: mean training loss of the 25 steps up to there")
print("val: validation loss at the end; state: optimizer state / weights")
print(f"{'':9}{'@100':>7}{'@250':>7}{'@500':>7}{'val':>7}"
      f"{'ms/step':>9}{'state':>7}")
for name, (losses, evaluation, state, _) in runs.items():
    at = [losses[s - 25: s].mean() for s in (100, 250, 500)]
    extra = floats(state.opt_state) / floats(state.params)
    print(f"{name:9}" + "".join(f"{x:7.3f}" for x in at)
          + f"{evaluation['val_loss']:7.3f}{ms[name]:9.1f}{extra:7.1f}")
# --8<-- [end:race]

fig, ax = plt.subplots(figsize=(6.4, 3.4))
steps = np.arange(1, STEPS + 1)
for i, (name, (losses, *_)) in enumerate(runs.items()):
    ax.plot(steps, losses, color=f"C{i}", alpha=0.2, linewidth=0.7)
    smooth = np.convolve(losses, np.ones(25) / 25, mode="valid")
    ax.plot(steps[24:], smooth, color=f"C{i}", label=f"{name} (mean of 25 steps)")
ax.set_ylim(2.0, 4.3)
ax.set_xlabel("optimizer step")
ax.set_ylabel("training loss (nats per character)")
ax.set_title("Three climbers, one model, the same batches")
ax.legend()
plt.show()
