"""Temperature on the trained student's vote: one prompt, the same scores, several temperatures.

Run on its own: python snippets/robot/voting_temperature.py  (trains the student first if needed)
"""

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from _student import load_student
from rwsite.claims import data

model, tok, run, _ = load_student()
show = lambda c: {" ": "␣", "\n": "\\n"}.get(c, c)     # make spaces and newlines visible

prompt = "ROMEO:\nWhat light"
logits_V = np.asarray(model(jnp.asarray([tok.encode(prompt)]))[0, -1])
# The page's temperature slider (docs/javascripts/) redraws this ballot in the browser.
data("ballot", {"prompt": prompt, "labels": [show(c) for c in tok.chars],
                "logits": [round(float(z), 4) for z in logits_V]})


def softmax(logits, temperature=1.0):
    z = logits / temperature
    p = np.exp(z - z.max())
    return p / p.sum()


# --8<-- [start:temperatures]
temperatures = [0.5, 1.0, 2.0]
top = np.argsort(-logits_V)[:10]
fig, ax = plt.subplots()
width = 0.27
for j, T in enumerate(temperatures):
    p_V = softmax(logits_V, T)
    entropy_bits = -(p_V * np.log2(np.maximum(p_V, 1e-30))).sum()
    print(f"T = {T}: top choice {show(tok.chars[top[0]])!r} p = "
          f"{p_V[top[0]]:.3f}, top 10 hold {p_V[top].sum():.3f}, "
          f"entropy {entropy_bits:.2f} bits")
    x = np.arange(10) + (j - 1) * width
    ax.bar(x, p_V[top], width, label=f"T = {T}")
# --8<-- [end:temperatures]
ax.set_xticks(range(10), [show(tok.chars[i]) for i in top])
ax.set_xlabel(f"next character after {prompt!r} (10 highest scores)")
ax.set_ylabel("probability")
ax.set_title("The trained student's vote at three temperatures")
ax.legend()
plt.show()

# How the whole distribution changes as the temperature turns (one curve, many temperatures).
grid = np.geomspace(0.1, 5, 60)
top_p = [softmax(logits_V, t).max() for t in grid]
entropy = [-(q * np.log2(np.maximum(q, 1e-30))).sum() for q in (softmax(logits_V, t) for t in grid)]
fig, (left, right) = plt.subplots(1, 2, figsize=(6.4, 2.8))
left.plot(grid, top_p, color="C0")
ticks = [0.1, 0.2, 0.5, 1, 2, 5]
left.set_xscale("log")
left.set_xticks(ticks, [f"{t:g}" for t in ticks])
left.set_xlabel("temperature T")
left.set_ylabel("probability of the top choice")
right.plot(grid, entropy, color="C1")
right.axhline(np.log2(len(logits_V)), color="C2", linestyle="--", linewidth=1)
right.text(0.1, np.log2(len(logits_V)) - 0.6, "uniform over 65: log2 65 bits")
right.set_xscale("log")
right.set_xticks(ticks, [f"{t:g}" for t in ticks])
right.set_xlabel("temperature T")
right.set_ylabel("entropy (bits)")
fig.tight_layout()
plt.show()
