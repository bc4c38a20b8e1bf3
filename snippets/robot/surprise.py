"""Cross-entropy, one character at a time: how surprised the trained student is by each letter.

The line comes from the validation split, which the student never trained on.

Run on its own: python snippets/robot/surprise.py  (trains the student first if needed)
"""

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from _student import load_student
from rawweights_jax.data.shakespeare import load_shakespeare
from rawweights_jax.train.loss import cross_entropy

model, tok, run, _ = load_student()
val_text = tok.decode(load_shakespeare().val_Z)
line = "PETRUCHIO:\nAnd you, good sir! Pray, have you not a daughter"
assert line in val_text
show = lambda c: {" ": "␣", "\n": "\\n"}.get(c, c)

# --8<-- [start:surprise]
ids = jnp.asarray([tok.encode(line)])
inputs_BT, targets_BT = ids[:, :-1], ids[:, 1:]   # each predicts the next
logits_BTV = model(inputs_BT)
logp_BTV = jax.nn.log_softmax(logits_BTV, axis=-1)
logp_T = jnp.take_along_axis(logp_BTV, targets_BT[..., None], -1)[0, :, 0]
p_T = np.exp(np.asarray(logp_T))          # p(the character that came)
surprise_bits_T = -np.log2(p_T)

loss = float(cross_entropy(logits_BTV, targets_BT))
print(f"mean of -ln p over the line: {np.mean(-np.log(p_T)):.4f} nats")
print(f"library cross_entropy(...):  {loss:.4f} nats")
print(f"= {surprise_bits_T.mean():.2f} bits per character on this line")
# --8<-- [end:surprise]

order = np.argsort(surprise_bits_T)
for title, picks in [("least surprising", order[:3]), ("most surprising", order[::-1][:3])]:
    print(f"{title}:")
    for t in picks:
        print(f"  '{show(line[t + 1])}' after {line[max(0, t - 5): t + 1]!r:10} "
              f"p = {p_T[t]:.3f}, {surprise_bits_T[t]:.2f} bits")

fig, ax = plt.subplots(figsize=(6.4, 2.9))
ax.bar(range(len(p_T)), surprise_bits_T, color="C0")
ax.axhline(np.log2(65), color="C3", linestyle="--", linewidth=1, label="uniform guess (log2 65 bits)")
ax.set_ylim(0, surprise_bits_T.max() + 2)
ax.legend(loc="upper left")
ax.set_xticks(range(len(p_T)), [show(c) for c in line[1:]], fontsize=7)
ax.grid(axis="x", visible=False)
ax.set_ylabel("surprise (bits)")
ax.set_title("Surprise at each character that actually came next", loc="left")
plt.show()
