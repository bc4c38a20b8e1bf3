"""The voting box: the trained student's 65 scores for the next character, through softmax.

Run on its own: python snippets/robot/voting_box.py  (trains the student first if needed)
"""

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from _student import load_student

model, tok, run, _ = load_student()
show = lambda c: {" ": "␣", "\n": "\\n"}.get(c, c)     # make spaces and newlines visible

# --8<-- [start:votes]
prompt = "ROMEO:\nWhat light"
logits_BTV = model(jnp.asarray([tok.encode(prompt)]))
logits_V = np.asarray(logits_BTV[0, -1])       # the last position's ballot

def softmax(logits, temperature=1.0):
    z = logits / temperature
    p = np.exp(z - z.max())    # the same result, and exp cannot overflow
    return p / p.sum()

p_V = softmax(logits_V)
print(f"after {prompt!r}: {len(logits_V)} scores, "
      f"from {logits_V.min():.2f} to {logits_V.max():.2f}")
print(f"probabilities sum to {p_V.sum():.6f}; same as jax.nn.softmax: "
      f"{np.allclose(p_V, jax.nn.softmax(logits_V), atol=1e-7)}")
for i in np.argsort(-logits_V)[:6]:
    print(f"  {show(tok.chars[i])!r:6} score {logits_V[i]:6.2f}   "
          f"probability {p_V[i]:.3f}")
low = np.argmin(logits_V)
print(f"  ... last: {show(tok.chars[low])!r} score {logits_V[low]:6.2f}   "
      f"probability {p_V[low]:.1e}")
# --8<-- [end:votes]

fig, ax = plt.subplots(figsize=(6.4, 2.8))
order = np.argsort(-p_V)
ax.bar(range(len(p_V)), p_V[order], color="C0")
ax.set_yscale("log")
ax.set_xticks(range(len(p_V)), [show(tok.chars[i]) for i in order], fontsize=6)
ax.grid(axis="x", visible=False)
ax.set_ylabel("probability (log scale)")
ax.set_title(f"All 65 votes after {prompt!r}, best first", loc="left")
plt.show()
