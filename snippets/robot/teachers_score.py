"""The teacher's score: the robot student's loss during its 2000-step training run, and after.

Reads the run's history (per-step training loss, evaluations every 250 steps), scores the
final model on the whole validation split, and puts the result next to three baselines that
need no neural network at all. Every number printed is computed here.

Run on its own: python snippets/robot/teachers_score.py  (trains the student first if needed)
"""

import math

import jax
import matplotlib.pyplot as plt
import numpy as np

from rwsite.claims import value
from _student import history, load_student
from rawweights_jax.data.baselines import ngram_nats
from rawweights_jax.data.shakespeare import load_shakespeare
from rawweights_jax.train.loss import cross_entropy

h = history()
model, tok, run, _ = load_student()
data = load_shakespeare()
V = tok.vocab_size

# --8<-- [start:whole-val]
@jax.jit
def summed_loss(x_BT, y_BT):
    return cross_entropy(model(x_BT), y_BT) * y_BT.size

T = run.model.context_len                   # cut the validation text into windows
val_Z = data.val_Z
n_windows = (len(val_Z) - 1) // T
x_WT = val_Z[: n_windows * T].reshape(n_windows, T)
y_WT = val_Z[1: n_windows * T + 1].reshape(n_windows, T)   # shifted by one
total = sum(float(summed_loss(x_WT[i:i + 256], y_WT[i:i + 256]))
            for i in range(0, n_windows, 256))
val_nats = total / (n_windows * T)
# --8<-- [end:whole-val]
value("whole_val", f"{val_nats:.3f}")


# Baselines that need no network: guess uniformly, by letter frequency, by the previous letter.
unigram = ngram_nats(data.train_Z, val_Z, V, order=1)
bigram = ngram_nats(data.train_Z, val_Z, V, order=2)

# --8<-- [start:units]
print(f"{'validation split':28} {'nats':>6} {'bits/char':>10} "
      f"{'perplexity':>11}")
for name, nats in [("uniform guess (ln 65)", math.log(V)),
                   ("letter frequencies", unigram),
                   ("previous letter", bigram),
                   ("robot student", val_nats)]:
    bits = nats / math.log(2)         # the same score in bits per character
    print(f"{name:28} {nats:6.3f} {bits:10.2f} {math.exp(nats):11.1f}")
# --8<-- [end:units]

steps, loss = np.asarray(h["step"]), np.asarray(h["loss"])
evals = h["eval"]
print()
read = len(steps) * run.tokens_per_iter
print(f"first training batch: loss {loss[0]:.3f} nats (ln 65 = {math.log(V):.3f})")
print(f"validation characters scored: {n_windows * T:,} ({n_windows:,} windows of {T})")
print(f"training: {len(steps)} steps x {run.tokens_per_iter} characters = {read:,} read,")
print(f"  {read / len(data.train_Z):.2f} passes over the training text, "
      f"{h['wall_seconds']:.0f} s on this build's CPU")
print("evaluations (mean over 20 random batches of each split):")
for e in evals:
    print(f"  step {e['step']:4d}  train {e['train_loss']:.3f}  val {e['val_loss']:.3f}")

fig, ax = plt.subplots(figsize=(6.4, 3.6))
smooth = np.convolve(loss, np.ones(50) / 50, mode="valid")
ax.plot(steps, loss, color="C0", alpha=0.25, linewidth=0.8)
ax.plot(steps[49:], smooth, color="C0", label="training batch loss (mean of 50 steps)")
ax.plot([e["step"] for e in evals], [e["train_loss"] for e in evals], "o-", color="C1",
        markersize=4, label="evaluation: training split")
ax.plot([e["step"] for e in evals], [e["val_loss"] for e in evals], "s-", color="C2",
        markersize=4, label="evaluation: validation split")
for value, text in [(math.log(V), "uniform guess, ln 65"), (bigram, "previous-letter counts")]:
    ax.axhline(value, color="C3", linestyle="--", linewidth=1)
    ax.text(steps[-1], value - 0.05, text, ha="right", va="top")
ax.set_ylim(1.4, 4.5)
ax.set_xlabel("optimizer step")
ax.set_ylabel("cross-entropy (nats per character)")
ax.set_title("The robot student's score while it learns")
ax.legend(loc="upper right", bbox_to_anchor=(1, 0.86))
plt.show()
