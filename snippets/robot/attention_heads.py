"""What each of the trained student's 16 attention heads looks at.

Every head's weights are recorded (`rawweights_jax.model.trace`) on 64 windows of text the
student never trained on, and scored against three rules, each naming one earlier character
per query (`_reading.head_patterns`): the previous character, the space before the current
word, the line break that began the current line. Then all 16 heads are drawn on one short
text.

Run on its own: python snippets/robot/attention_heads.py  (trains the student first if needed)
"""

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from flax import nnx

from _reading import PATTERNS, TEXT, head_name, head_patterns, shown, val_windows
from _student import load_student
from rawweights_jax.model.trace import trace
from rwsite.claims import claim, value

model, tok, run, _ = load_student()

# --8<-- [start:patterns]
windows_BT = val_windows(tok)                     # 64 windows of 64 unseen characters
t = nnx.jit(trace)(model, jnp.asarray(windows_BT))
scores = head_patterns(t.probs_LBNTS, windows_BT, tok)

print("mean weight each head puts on ...")
print("layer, head " + "".join(f"{kind:>10}" for kind in scores))
L, N = scores["word"][0].shape
for layer in range(L):
    for head in range(N):
        print(f"{layer:5}, {head:4} " + "".join(
            f"{score_LN[layer, head]:10.2f}" for score_LN, _ in scores.values()))
print("even spread " + "".join(f"{even:10.2f}" for _, even in scores.values()))
# --8<-- [end:patterns]

value("windows", str(len(windows_BT)))
value("window_len", str(windows_BT.shape[1]))
best = {}
for kind, (score_LN, even) in scores.items():
    flat = np.sort(score_LN.ravel())[::-1]
    layer, head = np.unravel_index(score_LN.argmax(), score_LN.shape)
    best[kind] = (layer, head)
    value(f"{kind}_head", head_name(layer, head))
    value(f"{kind}_share", f"{flat[0]:.2f}")
    value(f"{kind}_next", f"{flat[1]:.2f}")
    value(f"{kind}_even", f"{even:.2f}")
    print(f"best at {kind:8} {head_name(layer, head)}: {flat[0]:.2f} "
          f"(next {flat[1]:.2f}, even {even:.2f})")
    if kind in ("word", "line"):
        claim(flat[0] > 0.4 and flat[0] > 2.5 * flat[1] and flat[0] > 8 * even,
              f"one head puts about half its weight on {PATTERNS[kind]}, far more than any other "
              "head and than an even spread", best=flat[0], next=flat[1], even=even)
prev_LN, prev_even = scores["previous"]
favour = int(np.sum(prev_LN > 3 * prev_even))
print(f"heads giving 'previous' over 3x an even spread: {favour} of {L * N}")
claim(prev_LN.max() < 0.5 and favour >= 4,
      "no head gives the previous character most of its weight, though several favour it",
      best=prev_LN.max(), favour=favour)
value("previous_favour", str(favour))

# How local are the heads? Weight on the character being read and the three before it, for
# characters at least 16 into their window (earlier ones have few characters to choose from).
P = np.asarray(t.probs_LBNTS)
T = P.shape[-1]
gap_TS = np.arange(T)[:, None] - np.arange(T)[None, :]
start = 16                                        # an even spread puts <= 4/17 on 4 keys
near_LN = (P * ((gap_TS >= 0) & (gap_TS <= 3))).sum(-1)[..., start:].mean((1, 3))
near = int(np.sum(near_LN > 0.5))
print(f"heads with over half their weight on the last 4 characters: {near} of {L * N}")
claim(near > L * N / 2, "most heads put over half their weight on the last four characters", near=near)
value("near_heads", str(near))
value("near_from", str(start))
value("heads", str(L * N))
claim(best["word"][0] == best["line"][0] > 0, "the word and line heads share a layer after the first")
value("specialist_layer", str(best["word"][0]))

# All 16 heads on one short text: rows are queries (the character being read), columns keys.
ids_T = tok.encode(TEXT)
probs_LNTS = np.asarray(trace(model, jnp.asarray([ids_T])).probs_LBNTS[:, 0])
future_TS = np.triu(np.ones((len(ids_T),) * 2, bool), k=1)
fig, axes = plt.subplots(L, N, figsize=(4.4, 4.9), sharex=True, sharey=True)
for (layer, head), ax in np.ndenumerate(axes):
    ax.imshow(np.ma.masked_where(future_TS, probs_LNTS[layer, head]), vmin=0, vmax=1,
              cmap="viridis", interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for side in ax.spines.values():
        side.set_visible(False)
    mark = " ★" if (layer, head) in (best["word"], best["line"]) else ""
    ax.set_title(f"{layer}, {head}{mark}", fontsize=10, pad=3)
fig.suptitle(f"All {L * N} heads, titled layer, head", fontsize=11)
fig.supxlabel("key: the character looked at →", fontsize=10)
fig.supylabel("← query: the character reading", fontsize=10)
fig.tight_layout(h_pad=0.6, w_pad=0.4)
plt.show()
