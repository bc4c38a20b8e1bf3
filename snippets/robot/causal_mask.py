"""Future-blind reading: the causal mask, drawn from the library's own `causal_mask`.

Run on its own: python snippets/robot/causal_mask.py
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from rawweights_jax.nn.attention.mask import causal_mask

text = "ROMEO: But"
labels = ["␣" if c == " " else c for c in text]    # a visible space

# --8<-- [start:mask]
n = len(text)
mask = causal_mask(batch=1, length=n)
visible_TS = np.asarray(mask.dense()[0])  # row t: what the guess at t reads

for t, row in enumerate(visible_TS):
    seen = "".join(c if ok else "·" for c, ok in zip(text, row))
    print(f"guess after {text[: t + 1]!r:13} reads {seen!r}")
print(f"{visible_TS.sum()} of {n * n} (query, key) pairs are visible; "
      f"n(n+1)/2 = {n * (n + 1) // 2}")
# --8<-- [end:mask]

# --8<-- [start:draw]
fig, ax = plt.subplots(figsize=(4.4, 4.4))
ax.imshow(visible_TS, cmap=ListedColormap(["none", "C0"]), vmin=0, vmax=1)
ax.set_xticks(range(n), labels)
ax.set_yticks(range(n), labels)
ax.set_xticks(np.arange(n + 1) - 0.5, minor=True)     # cell borders
ax.set_yticks(np.arange(n + 1) - 0.5, minor=True)
ax.grid(False)
ax.grid(which="minor", alpha=0.35)
ax.tick_params(which="minor", length=0)
ax.set_xlabel("key: the character being read (position s)")
ax.set_ylabel("query: the guess being made (position t)")
ax.set_title("Causal mask: filled = may read ($s \\leq t$)")
plt.show()
# --8<-- [end:draw]
