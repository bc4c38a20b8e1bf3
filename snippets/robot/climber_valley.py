"""Three climbers in a long, narrow valley: plain gradient descent, momentum, Adam.

A two-weight toy loss, steep across the valley and nearly flat along it, the shape that makes
plain gradient descent slow. The same optax optimizers train the real model later.

Run on its own: python snippets/robot/climber_valley.py
"""

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax

from rwsite.claims import claim, value


# --8<-- [start:valley]
def loss(w):      # steep across (y), nearly flat along (x): 100 times
    x, y = w
    return 0.01 * x**2 + y**2

climbers = {
    "gradient descent, lr 0.9": optax.sgd(0.9),
    "momentum 0.9, lr 0.3": optax.sgd(0.3, momentum=0.9),
    "Adam, lr 0.5": optax.adam(0.5, b1=0.9, b2=0.99),
}
start = jnp.array([-9.0, 2.0])
paths = {}
print("after 60 steps from (-9, 2); the minimum is (0, 0)")
for name, optimizer in climbers.items():
    w, state, path = start, optimizer.init(start), [start]
    for _ in range(60):
        updates, state = optimizer.update(jax.grad(loss)(w), state, w)
        w = optax.apply_updates(w, updates)
        path.append(w)
    paths[name] = np.array(path)
    print(f"{name:26} at ({w[0]:6.3f}, {w[1]:6.3f}), loss {loss(w):.4f}")
# --8<-- [end:valley]

gd, adam = paths["gradient descent, lr 0.9"], paths["Adam, lr 0.5"]
value("gd_covered", f"{1 - gd[-1, 0] / start[0]:.0%}")
low = int(np.argmin(adam[:, 1]))                      # Adam's deepest point across the valley
value("adam_y_low", f"{adam[low, 1]:.1f}")
value("adam_y_back", f"{adam[low:, 1].max():.1f}")
claim(adam[low, 1] < -0.5 and adam[low:, 1].max() > 0.25,
      "Adam crosses the valley floor and swings back up the other wall",
      low=float(adam[low, 1]), back=float(adam[low:, 1].max()))

xs, ys = np.meshgrid(np.linspace(-10, 2, 200), np.linspace(-2.5, 2.5, 120))
fig, ax = plt.subplots(figsize=(6.4, 3.2))
ax.contour(xs, ys, 0.01 * xs**2 + ys**2, levels=[0.05, 0.2, 0.5, 1, 2, 4], colors="#010203",
           alpha=0.35, linewidths=0.7)
for i, (name, path) in enumerate(paths.items()):
    ax.plot(path[:, 0], path[:, 1], "o-", color=f"C{i}", markersize=2.5, linewidth=1, label=name)
ax.plot(0, 0, "*", color="C3", markersize=10)
ax.set_xlabel("weight x (the valley floor: gentle)")
ax.set_ylabel("weight y (steep)")
ax.set_title("60 steps from the same start; the minimum is the star")
ax.legend(loc="lower right", fontsize=8)
ax.grid(False)
plt.show()
