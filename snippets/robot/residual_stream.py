"""The residual stream of the trained student: how large it is after every sub-layer, how much
each sub-layer adds to it, and how good a guess it already holds along the way.

The stream is recorded with `rawweights_jax.model.trace` on 64 windows of unseen text. "The
guess it holds" is the loss of the model's own output step (`unembed`: final norm, then the
scores) applied to the stream after each sub-layer instead of only after the last one: a
reading known as the logit lens (nostalgebraist, 2020). After the last sub-layer it is the
model's real loss.

Run on its own: python snippets/robot/residual_stream.py  (trains the student first if needed)
"""

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from flax import nnx

from _reading import val_windows
from _student import load_student
from rawweights_jax.model.trace import trace
from rawweights_jax.train.loss import cross_entropy
from rwsite.claims import claim, value

model, tok, run, _ = load_student()
windows_BT = val_windows(tok, length=65)            # 64 characters read, each one's next to guess
inputs_BT, targets_BT = jnp.asarray(windows_BT[:, :-1]), jnp.asarray(windows_BT[:, 1:])

# --8<-- [start:stream]
t = nnx.jit(trace)(model, inputs_BT)
stream_SBTD = t.stream()                           # S = 2L + 1 states of the stream
names = ["embedding"] + [f"+ {part} {layer}" for layer in range(len(model.blocks))
                         for part in ("attention", "MLP")]
size_S = np.linalg.norm(stream_SBTD, axis=-1).mean((1, 2))
added_S = np.r_[np.nan, np.linalg.norm(np.diff(stream_SBTD, axis=0), axis=-1).mean((1, 2))]
lens_S = np.array([float(cross_entropy(model.unembed(x_BTD), targets_BT)) for x_BTD in stream_SBTD])

print(f"{'stream after':15} {'size':>6} {'added':>6} {'loss if read here':>18}")
for name, size, added, loss in zip(names, size_S, added_S, lens_S):
    added = "" if np.isnan(added) else f"{added:.2f}"
    print(f"{name:15} {size:6.2f} {added:>6} {loss:18.3f}")
# --8<-- [end:stream]

model_loss = float(cross_entropy(model(inputs_BT), targets_BT))
print(f"the model's own loss: {model_loss:.3f}; a uniform guess: ln 65 = {np.log(65):.3f}")
claim(abs(lens_S[-1] - model_loss) < 1e-4, "read after the last sub-layer, the lens gives the model's loss")
claim(np.all(np.diff(lens_S) < 0), "every sub-layer lowers the loss of the guess the stream holds",
      lens=lens_S.round(3).tolist())
claim(lens_S[0] > np.log(65), "read straight after the embedding, the guess is worse than uniform")
same_BT = model.unembed(stream_SBTD[0]).argmax(-1) == inputs_BT
echo = float(jnp.mean(same_BT))
print(f"embedding alone: top guess = the character just read, at {echo:.0%} of positions")
claim(echo > 0.5, "the embedding alone mostly guesses the character just read", echo=echo)
repeat = float(np.mean(windows_BT[:, 1:] == windows_BT[:, :-1]))
print(f"in the text: next character = the one just read, at {repeat:.0%} of positions")
claim(repeat < 0.1, "the next character is rarely the one just read", repeat=repeat)
value("repeat", f"{repeat:.0%}")
biggest = int(np.nanargmax(added_S))
claim(biggest == 2, "the first MLP adds the most to the stream", biggest=names[biggest])
claim(added_S[2] > 3 * size_S[1], "the first MLP adds a vector several times as long as the stream it reads")
claim(np.all(added_S[3:] < size_S[2:-1]), "after the first layer, every sub-layer adds less than "
      "the stream already holds")

value("lens_embed", f"{lens_S[0]:.2f}")
value("lens_layer0", f"{lens_S[2]:.2f}")
value("lens_final", f"{lens_S[-1]:.2f}")
value("uniform", f"{np.log(65):.2f}")
value("echo", f"{echo:.0%}")
value("size_embed", f"{size_S[0]:.1f}")
value("size_layer0_attn", f"{size_S[1]:.1f}")
value("size_final", f"{size_S[-1]:.1f}")
value("mlp0_added", f"{added_S[2]:.1f}")

fig, (top, bottom) = plt.subplots(2, 1, figsize=(4.3, 7.0), sharey=True)
rows = np.arange(len(names))
top.barh(rows, size_S, color="C0", alpha=0.55, label="size of the stream after this step")
top.plot(added_S, rows, "o", color="C1", label="size of what this step added")
top.set_xlabel("vector length (mean over positions)")
top.legend(loc="upper left", bbox_to_anchor=(-0.45, -0.2), fontsize=10)
top.set_title("How large the stream is, and what each step adds", loc="right", fontsize=11)
bottom.barh(rows, lens_S, color="C2")
bottom.axvline(np.log(65), color="C3", linestyle="--", linewidth=1.2)
bottom.text(np.log(65) + 0.1, rows[-1] - 0.2, "uniform\nguess", color="C3", fontsize=9.5, va="center")
bottom.set_xlabel("loss of the guess read from the stream (nats)")
bottom.set_title("The guess it holds improves at every step", loc="right", fontsize=11)
bottom.set_yticks(rows, names, fontsize=10)
bottom.invert_yaxis()
for ax in (top, bottom):
    ax.grid(axis="y", visible=False)
fig.tight_layout(h_pad=1.5)
plt.show()
