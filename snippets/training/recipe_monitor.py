"""What a trainer logs: per-layer gradient norms and update-to-weight ratios, from the
baseline run's metrics history (benchmarks/results/recipe-cpu-*.json).

Run on its own: python snippets/training/recipe_monitor.py   (a second)
"""

import matplotlib.pyplot as plt
import numpy as np

from _recipe import load
from rwsite.claims import value

r, runs = load()
mon = runs["cosine"]["monitor"]
layers, records = mon["layers"], mon["records"]
steps = [m["step"] for m in records]
grad_SG = np.array([m["layer_grad_norm"] for m in records])
ratio_SG = np.array([m["update_ratio"] for m in records])

fig, (ax_g, ax_u) = plt.subplots(1, 2, figsize=(7.2, 3.4))
for i, name in enumerate(layers):
    ax_g.plot(steps, grad_SG[:, i], color=f"C{i}", label=name)
    ax_u.plot(steps, ratio_SG[:, i], color=f"C{i}", label=name)
for ax, title in ((ax_g, "Gradient norm per layer"), (ax_u, "|update| / |weights| per layer")):
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_title(title)
ax_u.legend(fontsize=9)
fig.tight_layout()
plt.show()

first, last = ratio_SG[0], ratio_SG[-1]
print("update / weight ratio, first and last log point:")
for name, a, b in zip(layers, first, last):
    print(f"  {name:>10}: {a:.2e} -> {b:.2e}")
value("ratio_first_max", f"{first.max():.1e}")
value("ratio_last_max", f"{last.max():.1e}")
value("log_points", f"{len(steps)}")
