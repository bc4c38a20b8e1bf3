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
# # Train your robot student
#
# This notebook was executed when the site was built, and you can download it (the button
# at the top right) and run it yourself. For now it is a placeholder that shows the shape of
# the lesson with NumPy alone: a student that learns next-character probabilities by counting.
# The full tutorial, training the JAX model from `rawweights_jax`, replaces it soon.

# %%
import numpy as np

text = "to be, or not to be, that is the question"
vocab = sorted(set(text))
index = {c: i for i, c in enumerate(vocab)}
print(f"{len(text)} characters, {len(vocab)} distinct")

# %% [markdown]
# Count which character follows which, then turn each row of counts into probabilities
# (add-one smoothing keeps unseen pairs possible).

# %%
counts = np.ones((len(vocab), len(vocab)))
for a, b in zip(text, text[1:]):
    counts[index[a], index[b]] += 1
probs = counts / counts.sum(axis=1, keepdims=True)

# How surprised is the student by the text? Mean negative log-likelihood.
pairs = list(zip(text, text[1:]))
nll = -np.mean([np.log(probs[index[a], index[b]]) for a, b in pairs])
uniform = np.log(len(vocab))
print(f"loss {nll:.3f} nats/char (uniform guessing: {uniform:.3f})")

# %% [markdown]
# Let it write: sample one character at a time from the row of the last one.

# %%
rng = np.random.default_rng(0)
out = "t"
for _ in range(40):
    out += vocab[rng.choice(len(vocab), p=probs[index[out[-1]]])]
print(out)
