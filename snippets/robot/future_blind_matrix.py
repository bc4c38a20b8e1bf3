"""Who can influence whom: every character of a line edited in turn, every guess compared.

One batch holds the line T times, row s with character s changed; comparing each row's logits
with the unedited line's gives a T x T matrix: how much the guess at t moved when s changed.

Run on its own: python snippets/robot/future_blind_matrix.py  (trains the student first if needed)
"""

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

from _student import load_student

model, tok, run, _ = load_student()

line = "ROMEO:\nBut, soft! what light through yonder window breaks?\n"

# --8<-- [start:all-edits]
T = len(line)
ids_T = np.asarray(tok.encode(line))
z, e = tok.encode("z")[0], tok.encode("e")[0]
rows_ST = np.tile(ids_T, (T, 1))         # row s: position s changed into
rows_ST[np.arange(T), np.arange(T)] = np.where(ids_T == z, e, z)  # 'z'

base_TV = model(jnp.asarray(ids_T[None]))[0]
edited_STV = model(jnp.asarray(rows_ST))  # all T edited lines, one batch
delta_STV = np.asarray(edited_STV - base_TV[None])
influence_TS = np.abs(delta_STV).max(-1).T   # [guess t, edited s]

future = np.triu(np.ones((T, T), bool), k=1)  # s > t: in t's future
seen, unseen = influence_TS[~future], influence_TS[future]
print(f"{unseen.size} pairs (guess, edit in its future):")
print(f"  largest |Δlogits| {unseen.max():g}, "
      f"all exactly zero: {bool(np.all(unseen == 0))}")
print(f"{seen.size} pairs (guess, edit at or before it):")
print(f"  {np.count_nonzero(seen)} changed, "
      f"median |Δlogits| {np.median(seen):.3g}")
# --8<-- [end:all-edits]

fig, ax = plt.subplots(figsize=(5.2, 4.6))
shown = np.ma.masked_where(influence_TS == 0, influence_TS)     # exact zeros stay blank
image = ax.imshow(shown, norm=LogNorm(vmin=1e-3, vmax=influence_TS.max()), cmap="viridis")
fig.colorbar(image, ax=ax, label="max |Δ logits| (log scale)", shrink=0.85)
ax.set_xlabel("edited position s")
ax.set_ylabel("guess at position t")
ax.set_title("Which edits move which guesses (blank = exactly 0)")
ax.grid(False)
plt.show()
