"""Future-blind reading, measured: editing a later character never moves an earlier guess.

The trained robot student reads a line twice, once as written and once with one character
changed, and we compare its 65 scores (logits) at every position.

Run on its own: python snippets/robot/future_blind_edit.py  (trains the student first if needed)
"""

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from _student import load_student
from rwsite.claims import claim

model, tok, run, _ = load_student()

# --8<-- [start:one-edit]
line = "ROMEO:\nBut, soft! what light through yonder window breaks?\n"
at = line.index("light")                 # change 'light' into 'night'
edited = line[:at] + "n" + line[at + 1:]

logits_BTV = model(jnp.asarray([tok.encode(line), tok.encode(edited)]))
diff_TV = np.asarray(logits_BTV[0] - logits_BTV[1])
delta_T = np.abs(diff_TV).max(axis=-1)   # max |Δlogits| at each position

print(f"edit at position {at}: {line[at]!r} -> {edited[at]!r}, "
      f"{len(line)} positions")
before, after = delta_T[:at], delta_T[at:]
print(f"positions 0..{at - 1}: max |Δlogits| = {before.max():g}, "
      f"all exactly zero: {bool(np.all(before == 0))}")
print(f"positions {at}..{len(line) - 1}: max |Δlogits| from "
      f"{after.min():.3g} to {after.max():.3g}")
for t in range(at - 3, at + 4):
    print(f"  position {t} {line[t]!r:4} max |Δlogits| = {delta_T[t]:.6g}")
# --8<-- [end:one-edit]
claim(np.all(before == 0), "every guess before the edit is bit-for-bit the same", largest=float(before.max()))
claim(np.all(after > 0), "the guess at the edit and every later one change", smallest=float(after.min()))

fig, ax = plt.subplots(figsize=(6.4, 2.8))
ax.bar(range(len(line)), delta_T, color=["C0" if t < at else "C1" for t in range(len(line))])
ax.plot(range(at), delta_T[:at], "o", color="C0", markersize=3)   # the zeros, made visible
ax.axvline(at - 0.5, color="C3", linestyle="--", linewidth=1)
ax.text(at / 2, delta_T.max() / 2, f"positions 0 to {at - 1}:\nexactly 0", ha="center")
ax.set_xlabel("position t in the line")
ax.set_ylabel("max |Δ logits| at t")
ax.set_title(f"Changing {line[at]!r} to {edited[at]!r} at position {at}")
plt.show()
