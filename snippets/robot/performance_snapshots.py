"""The formal performance over time: the same prompt, the same dice, five moments of training.

Step 0 is the untrained model (the weights the run started from); steps 50, 300 and 1000 are
snapshots saved during the run; step 2000 is the end. Each writes 240 characters after the
same prompt with the same seed, and each is scored on the validation split.

Run on its own: python snippets/robot/performance_snapshots.py  (trains the student first if needed)
"""

import re

import jax
import numpy as np

from _student import SNAPSHOT_STEPS, load_student
from rawweights_jax.data.shakespeare import load_shakespeare
from rawweights_jax.inference.generate import generate
from rawweights_jax.model.gpt import init_model
from rawweights_jax.train.loss import cross_entropy

data = load_shakespeare()
final, tok, run, _ = load_student()
known_words = set(re.findall(r"[a-z']+", tok.decode(data.train_Z).lower()))


VAL_WINDOWS = 400


def val_loss(model, n_windows=VAL_WINDOWS):
    """Cross-entropy on the first n_windows windows of 64 characters of the validation split."""
    T = run.model.context_len
    w = np.stack([data.val_Z[i * T: i * T + T + 1] for i in range(n_windows)])
    return float(jax.jit(lambda x, y: cross_entropy(model(x), y))(w[:, :-1], w[:, 1:]))


def fold(text, width=72):
    """Lines longer than `width` folded for the page (the characters are unchanged)."""
    return "\n".join(line[i:i + width] for line in text.split("\n")
                     for i in range(0, max(len(line), 1), width))


def real_word_share(text):
    words = re.findall(r"[a-z']+", text.lower())
    return sum(w in known_words for w in words) / max(len(words), 1), len(words)


# --8<-- [start:snapshots]
models = {0: init_model(run.model, run.train.seed)}     # the run's seed: its starting weights
models |= {step: load_student(step)[0] for step in SNAPSHOT_STEPS}
models[run.train.max_iters] = final

prompt = tok.encode("\n")
n_val = VAL_WINDOWS * run.model.context_len
print(f"val loss: on the first {n_val:,} characters of the validation text")
print("spelled: share of its words that occur in the training text\n")
for step, model in models.items():
    new = generate(model, [prompt], 240, temperature=0.8, seed=0)[0]
    text = tok.decode(new)
    share, n = real_word_share(text)
    print(f"── step {step} · val loss {val_loss(model):.2f} · "
          f"spelled {share:.0%} of {n} words ──")
    print(fold(text.strip("\n")))
    print()
# --8<-- [end:snapshots]
