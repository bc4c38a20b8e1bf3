"""Who can influence whom: every character of a line edited in turn, every guess compared.

One batch holds the line as written and T edited copies, row 1 + s with character s changed;
comparing each edited row's logits with the first row's gives a T x T matrix: how much the
guess at t moved when s changed. The unedited line runs in the same batch as the edits, so
both go through the same compiled program: a batch of one would take other kernels, whose
rounding differs in the last bits (7e-06 of a logit, the first version of this page found).

Run on its own: python snippets/robot/future_blind_matrix.py  (trains the student first if needed)
"""

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

from _student import load_student
from rwsite.claims import claim, heatmap, value

model, tok, run, _ = load_student()

line = "ROMEO:\nBut, soft! what light through yonder window breaks?\n"

# --8<-- [start:all-edits]
T = len(line)
ids_T = np.asarray(tok.encode(line))
z, e = tok.encode("z")[0], tok.encode("e")[0]
rows_ST = np.tile(ids_T, (T + 1, 1))     # row 0: the line as written
rows_ST[1 + np.arange(T), np.arange(T)] = np.where(ids_T == z, e, z)  # row 1 + s: position s -> 'z'

logits_STV = model(jnp.asarray(rows_ST))  # the line and all T edits, one batch
delta_STV = np.asarray(logits_STV[1:] - logits_STV[:1])
influence_TS = np.abs(delta_STV).max(-1).T   # [guess t, edited s]

future = np.triu(np.ones((T, T), bool), k=1)  # s > t: in t's future
seen, unseen = influence_TS[~future], influence_TS[future]
print(f"{unseen.size} pairs (guess, edit in its future):")
print(f"  largest |Δlogits| {unseen.max():g}, "
      f"all exactly zero: {bool(np.all(unseen == 0))}")
print(f"{seen.size} pairs (guess, edit at or before it):")
print(f"  {np.count_nonzero(seen)} changed, "
      f"median |Δlogits| {np.median(seen):.3g}")
claim(np.all(unseen == 0), "every edit in a guess's future moves it by exactly zero",
      largest=float(unseen.max()))
claim(np.all(seen > 0), "every edit at or before a guess moves it", unchanged=int(np.sum(seen == 0)))
value("future_pairs", f"{unseen.size:,}")
value("past_pairs", f"{seen.size:,}")
# --8<-- [end:all-edits]

fig, ax = plt.subplots(figsize=(5.2, 4.6))
shown = np.ma.masked_where(influence_TS == 0, influence_TS)     # exact zeros stay blank
image = ax.imshow(shown, norm=LogNorm(vmin=1e-3, vmax=influence_TS.max()), cmap="viridis")
chars = [{" ": "␣", "\n": "↵"}.get(c, c) for c in line]
heatmap("influence", image, chars, chars, row_title="guess at position t", col_title="edited position s",
        blank="exactly 0")
fig.colorbar(image, ax=ax, label="max |Δ logits| (log scale)", shrink=0.85)
ax.set_xlabel("edited position s")
ax.set_ylabel("guess at position t")
ax.set_title("Which edits move which guesses (blank = exactly 0)")
ax.grid(False)
plt.show()
