# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Train your own robot student
#
# This notebook trains a small GPT-style language model, the *robot student* of this site, on
# the plays of Shakespeare, one character at a time. It runs on a laptop CPU in about a
# minute, and every output below was produced when this site was built. Download it (the
# button at the top right) and run it yourself: the numbers you get will be close to these
# but the timings will be your machine's.
#
# You need Python 3.11 or newer and the library: in a clone of this site's repository,
# `pip install -e .` installs `rawweights_jax` with the versions of JAX and Flax it was built with.
#
# The steps: read the data, look at how text becomes numbers, describe the model, check what
# an untrained student says, train it for a few hundred steps, plot its progress, let it write,
# and save and reload it.

# %%
import math
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

print("JAX", jax.__version__, "on", jax.devices()[0].platform)

# %% [markdown]
# ## 1. The reading material
#
# Tiny Shakespeare is about a million characters of Shakespeare's plays in one text file, the
# data set of Andrej Karpathy's char-rnn and nanoGPT. `load_shakespeare` finds it (in the
# folder named by `RAWWEIGHTS_DATA_DIR`, in your cache folder, or by downloading it once),
# checks its checksum, and splits it: the first 90% for training, the last 10% for validation,
# text the student never learns from and is only tested on.

# %%
from rawweights_jax.data.shakespeare import load_shakespeare

data = load_shakespeare()
print(f"training characters:   {len(data.train_Z):,}")
print(f"validation characters: {len(data.val_Z):,}")
print()
print(data.tokenizer.decode(data.train_Z[:250]))

# %% [markdown]
# ## 2. From characters to numbers
#
# A model computes with numbers, not letters. The tokenizer gives each distinct character of
# the text an integer, in sorted order: the vocabulary. A character-level vocabulary is tiny
# (large models use tens of thousands of word pieces instead), which keeps the model small and
# makes every guess easy to read.

# %%
tok = data.tokenizer
print(f"{tok.vocab_size} characters: {tok.chars!r}")

ids = tok.encode("ROMEO: But, soft!")
print(ids)
print(repr(tok.decode(ids)))

# %% [markdown]
# A character the student has never seen has no number, and the tokenizer says so instead of
# guessing:

# %%
try:
    tok.encode("café")
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# ## 3. The recipe
#
# A run is two frozen configs: the model's shape (`run.model`, what a Hugging Face config.json
# would hold) and its training recipe (`run.train`). The preset
# `shakespeare-char-cpu` is the small configuration nanoGPT's README suggests for a CPU: 4
# transformer blocks, 4 attention heads, a 128-wide residual stream, a context of 64
# characters, batches of 12 windows. The full preset trains for 2000 steps; here we take 300
# so the notebook stays short (the articles of the series use the full run).

# %%
from rawweights_jax.config import preset
from rawweights_jax.model.gpt import count_params, init_model

cfg = preset("shakespeare-char-cpu").replace(max_iters=300, eval_interval=100)
for part, fields in (("model", ("n_layers", "n_heads", "d_model", "context_len")),
                     ("train", ("batch_size", "max_iters", "lr", "warmup_iters"))):
    for field in fields:
        print(f"{part}.{field:12} = {getattr(getattr(cfg, part), field)}")
print(f"parameters   = {count_params(init_model(cfg.model)):,}")
print(f"characters read per step = {cfg.tokens_per_iter}")

# %% [markdown]
# A typo fails at once, with a message naming the field:

# %%
try:
    cfg.replace(n_heads=5)
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# ## 4. What one lesson looks like
#
# A training batch is a set of random windows from the text. The target of each window is the
# same window shifted by one character: at every position the student must guess the character
# that comes next, having seen only the ones before it. One window of 64 characters is
# therefore 64 small exercises at once.

# %%
from rawweights_jax.data.batches import sample_batch

x_BT, y_BT = sample_batch(jnp.asarray(data.train_Z), jax.random.key(0), cfg.train.batch_size,
                          cfg.model.context_len)
print("batch shape:", x_BT.shape)
print("input :", repr(tok.decode(x_BT[0])))
print("target:", repr(tok.decode(y_BT[0])))

# %% [markdown]
# ## 5. Before any training
#
# A freshly initialised student gives every character about the same score. Its loss, the
# cross-entropy of its guesses, should then be close to that of guessing uniformly among the
# 65 characters, the natural logarithm of 65. And when it writes, it writes noise.

# %%
from rawweights_jax.inference.generate import generate
from rawweights_jax.train.loss import cross_entropy

untrained = init_model(cfg.model, cfg.train.seed)
print(f"loss on one batch: {float(cross_entropy(untrained(x_BT), y_BT)):.3f} nats/char")
print(f"ln(65):            {math.log(65):.3f} nats/char")
print()
print(tok.decode(generate(untrained, [tok.encode("ROMEO:")], 120, temperature=0.8)[0]))

# %% [markdown]
# ## 6. Training
#
# `train` runs the whole loop: sample a batch, compute the loss and its gradient, let the AdamW
# optimizer move every weight, and every `eval_interval` steps measure the loss on both splits.
# It writes a checkpoint into `out_dir` as it goes. We use a temporary folder; give it a folder
# of your own to keep the result.

# %%
from rawweights_jax.train.loop import train

out_dir = Path(tempfile.mkdtemp(prefix="robot-student-"))
start = time.perf_counter()
result = train(cfg, data, out_dir=out_dir, progress=print, log_interval=50)
print(f"trained in {time.perf_counter() - start:.0f} s")

# %% [markdown]
# ## 7. The learning curve
#
# `result.history` holds the loss of every training batch and the evaluations. The batch
# losses are noisy (each batch is a different handful of windows); the evaluations average 20
# batches of each split. The validation loss is the honest score: it is measured on text the
# student never trained on.

# %%
history = result.history
evals = history["eval"]
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(history["step"], history["loss"], alpha=0.4, label="training batch")
ax.plot([e["step"] for e in evals], [e["train_loss"] for e in evals], "o-", label="eval: training split")
ax.plot([e["step"] for e in evals], [e["val_loss"] for e in evals], "s-", label="eval: validation split")
ax.axhline(math.log(65), linestyle="--", color="gray", label="uniform guess, ln 65")
ax.set_xlabel("optimizer step")
ax.set_ylabel("cross-entropy (nats per character)")
ax.legend()
plt.show()

final = evals[-1]
print(f"after {final['step']} steps: train {final['train_loss']:.3f}, "
      f"val {final['val_loss']:.3f} nats/char = {final['val_loss'] / math.log(2):.2f} bits/char")

# %% [markdown]
# ## 8. The student writes
#
# Generation feeds the student its own guesses: sample a character from its vote, append it,
# guess again. Temperature 0.8 makes it a little more cautious than its raw probabilities.
# After 300 steps expect the shape of a play (names in capitals, a colon, short lines) with
# words that are often not quite words. The full 2000-step run of the series does better.

# %%
model = result.model
new = generate(model, [tok.encode("ROMEO:\n")], 300, temperature=0.8, seed=0)[0]
print("ROMEO:\n" + tok.decode(new))

# %% [markdown]
# ## 9. Save, load, and check
#
# The checkpoint is one `safetensors` file: every weight and optimizer moment, plus the config,
# the tokenizer's characters and the history in its metadata (nothing in it is executable, unlike
# a pickle). `load_model` gives back the model, the tokenizer and the config; the reloaded
# student must compute exactly the same scores and, with the same seed, write the same text.

# %%
from rawweights_jax.ckpt.checkpoint import load_model

for path in sorted(out_dir.iterdir()):
    print(f"{path.name:24} {path.stat().st_size / 1e6:.1f} MB")

loaded, loaded_tok, loaded_cfg, meta = load_model(out_dir)
print("step:", meta["step"], "| same config:", loaded_cfg == cfg)
print("identical scores:", bool(jnp.all(loaded(x_BT) == model(x_BT))))
again = generate(loaded, [loaded_tok.encode("ROMEO:\n")], 300, temperature=0.8, seed=0)[0]
print("identical text:", again == new)

# %% [markdown]
# ## 10. A hundred more lessons
#
# Training can continue from the checkpoint: `resume=True` restores the weights, the optimizer
# state, the step and the random key, so an interrupted run goes on exactly as if it had never
# stopped. Here we use it to extend the run to 400 steps instead. The learning-rate schedule
# depends on the run's length, so from step 300 on it follows the 400-step curve: the rate goes
# back up a little, which is why the first new batch losses can be higher than the last old ones.

# %%
longer = train(cfg.replace(max_iters=400), data, out_dir=out_dir, resume=True,
               progress=print, log_interval=50)
print("ROMEO:\n" + tok.decode(generate(longer.model, [tok.encode("ROMEO:\n")], 200,
                                       temperature=0.8, seed=0)[0]))

# %% [markdown]
# The run above wrote into a temporary folder; this last cell deletes it. If you gave `train` a
# folder of your own, skip it and keep your student.

# %%
import shutil

shutil.rmtree(out_dir)

# %% [markdown]
# ## Where next
#
# - The same from a terminal: `rawweights train --preset shakespeare-char-cpu --out out/cpu`,
#   then `rawweights generate --ckpt out/cpu --prompt "ROMEO:"`.
# - The Robot Student series explains each step above with the full 2000-step student: how it
#   reads without seeing the future, how its scores become a vote, how the loss is scored, how
#   the optimizer climbs, and how it performs.
# - Things to try: more steps (`max_iters=2000` is the full preset), a wider model
#   (`d_model=192`), a longer context (`context_len=128`); each costs time, and the printed
#   tokens per second tell you how much.
