"""Two heads of the trained student up close: the one that looks back to the start of the word,
and the one that looks back to the start of the line, drawn on one short line of unseen text.

The two heads are found, not chosen by hand: each is the head that scores highest on its rule
over 64 windows of validation text (`_reading.head_patterns`, as in attention_heads.py).

Run on its own: python snippets/robot/attention_closeup.py  (trains the student first if needed)
"""

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from flax import nnx

from _reading import PATTERNS, TEXT, head_name, head_patterns, pattern_keys, shown, val_windows
from _student import load_student
from rawweights_jax.model.trace import trace
from rwsite.claims import claim, heatmap, value

model, tok, run, _ = load_student()
windows_BT = val_windows(tok)
scores = head_patterns(nnx.jit(trace)(model, jnp.asarray(windows_BT)).probs_LBNTS, windows_BT, tok)

ids_T = np.asarray(tok.encode(TEXT))
probs_LNTS = np.asarray(trace(model, jnp.asarray([ids_T])).probs_LBNTS[:, 0])
space, newline = tok.encode(" ")[0], tok.encode("\n")[0]
T = len(ids_T)
labels = [shown(c) for c in TEXT]

fig, axes = plt.subplots(2, 1, figsize=(4.0, 9.6), layout="constrained")
fig.get_layout_engine().set(h_pad=0.12)
for ax, kind in zip(axes, ["word", "line"]):
    score_LN, _ = scores[kind]
    layer, head = np.unravel_index(score_LN.argmax(), score_LN.shape)
    probs_TS = probs_LNTS[layer, head]
    # On this line: how often is the rule's key the one the head weighs most?
    keys_T = pattern_keys(ids_T, kind, space, newline)
    asked = np.flatnonzero(keys_T >= 0)
    hits = int(np.sum(probs_TS[asked].argmax(-1) == keys_T[asked]))
    print(f"{head_name(layer, head)}: {PATTERNS[kind]}\n  gets its largest weight "
          f"for {hits} of the {len(asked)} characters the rule applies to")
    claim(hits > len(asked) / 2, f"on this line the {kind} head weighs {PATTERNS[kind]} most, more often than not",
          hits=hits, asked=len(asked))
    value(f"{kind}_hits", str(hits))
    value(f"{kind}_asked", str(len(asked)))

    future_TS = np.triu(np.ones((T, T), bool), k=1)
    image = ax.imshow(np.ma.masked_where(future_TS, probs_TS), vmin=0, vmax=1, cmap="viridis",
                      interpolation="nearest")
    heatmap(f"{kind}_weights", image, labels, labels, row_title="query: reading", col_title="key: looks at",
            blank="the future: hidden")
    ax.set_xticks(range(T), labels, fontsize=9)
    ax.set_yticks(range(T), labels, fontsize=9)
    ax.tick_params(length=0, pad=1.5)
    ax.grid(False)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(f"{head_name(layer, head)}:\n{PATTERNS[kind]}", loc="left", fontsize=10.5)
    ax.set_ylabel("query: reading …")
    ax.set_xlabel("key: … looks at")
fig.colorbar(image, ax=axes[-1], location="bottom", shrink=0.8, aspect=30,
             label="attention weight")
plt.show()
