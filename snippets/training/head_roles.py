"""What each of the student's 16 attention heads does, found from its weights on unseen text:
the mean weight it puts on the character 1, 2 and 3 back, on the line break that began the
line, and on the first position; each head named after the rule it follows, if any. Then
every head drawn on one line of the play.

Run on its own: python snippets/training/head_roles.py  (once the robot student exists)
"""

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from flax import nnx

from _weights import load_student, shown, val_batch
from rawweights_jax.analysis.weights import LOCAL, RULES, attention_summary, name_heads
from rawweights_jax.model.trace import trace
from rwsite.claims import claim, heatmap, value
from rwsite.tables import table

model, tok, run, _ = load_student()
L, N = run.model.n_layers, run.model.n_heads

# --8<-- [start:summary]
ids_BT, _ = val_batch(run.model.context_len, count=64)            # 64 windows of unseen text
probs_LBNTS = nnx.jit(trace)(model, ids_BT).probs_LBNTS          # every head's weights
newline, space = tok.encode("\n")[0], tok.encode(" ")[0]
shares, evens = attention_summary(probs_LBNTS, ids_BT, newline, space)
names_LN = name_heads(shares, evens, min_share=0.4, min_lift=3.0, min_recent=0.5)
# --8<-- [end:summary]

rows = [[f"{layer}.{head}", *(f"{shares[r][layer, head]:.2f}" for r in RULES), names_LN[layer, head]]
        for layer in range(L) for head in range(N)]
rows.append(["even", *(f"{evens[r]:.2f}" for r in RULES), ""])
table(["head", *RULES, "named"], rows, align="l" + "r" * len(RULES) + "l")
found = {r: [(l, n) for l in range(L) for n in range(N) if names_LN[l, n] == r] for r in RULES}
for r in RULES:
    print(f"{r:>10}: " + (", ".join(f"{l}.{n}" for l, n in found[r]) or "none"))
print(f"    spread: {int(np.sum(names_LN == 'spread'))} heads")

def best(rule):
    """(layer, head, share) of the head that gives `rule` the most weight, and the runner-up's share."""
    share_LN = shares[rule]
    layer, head = np.unravel_index(share_LN.argmax(), share_LN.shape)
    return layer, head, share_LN[layer, head], np.sort(share_LN.ravel())[-2]

for rule in ("line start", "word start"):
    layer, head, top, second = best(rule)
    claim(found[rule] == [(layer, head)] and top > 2.5 * second,
          f"exactly one head is named {rule!r}, with over 2.5x the weight of any other head there",
          found=found[rule], top=top, second=second)
    key = rule.split()[0]
    value(f"{key}_head", f"{layer}.{head}")
    value(f"{key}_share", f"{top:.2f}")
    value(f"{key}_second", f"{second:.2f}")
    value(f"{key}_even", f"{evens[rule]:.2f}")
claim(best("line start")[0] == best("word start")[0], "the line and word heads share a layer")
value("specialist_layer", str(best("line start")[0]))
layer, head, top, second = best("1 back")
claim(top < 0.4 and not found["1 back"], "no head gives the previous character 0.4 of its weight", top=top)
value("prev_head", f"{layer}.{head}")
value("prev_share", f"{top:.2f}")
value("prev_even", f"{evens['1 back']:.2f}")
recent = int(np.sum(names_LN == "recent"))
value("recent_heads", str(recent))
value("spread_heads", str(int(np.sum(names_LN == "spread"))))
claim(recent >= N * L / 2, "most heads put half their weight on the last four characters", recent=recent)
first_max = shares["first"].max()
claim(first_max < 2 * evens["first"], "no head treats the first position as a sink", first_max=first_max)
value("first_max", f"{first_max:.2f}")
value("first_even", f"{evens['first']:.2f}")
value("heads", str(L * N))
value("windows", str(ids_BT.shape[0]))
value("context", str(ids_BT.shape[1]))

# The summary as a picture: one row per head, one column per rule.
share_HR = np.stack([shares[r].ravel() for r in RULES], axis=1)      # [L*N heads, rules]
labels = [f"{l}.{n} {names_LN[l, n]}" for l in range(L) for n in range(N)]
fig, ax = plt.subplots(figsize=(4.6, 4.6))
image = ax.imshow(share_HR, cmap="viridis", vmin=0, vmax=share_HR.max(), aspect="auto")
ax.set_xticks(range(len(RULES)), RULES, rotation=40, ha="right", fontsize=9)
ax.set_yticks(range(len(labels)), labels, fontsize=9)
ax.grid(False)
fig.colorbar(image, ax=ax, shrink=0.6, label="mean weight").ax.tick_params(labelsize=9)
ax.set_title("Where each head (layer.head) looks", fontsize=10)
heatmap("head_rules", image, labels, list(RULES), row_title="head", col_title="rule")
fig.tight_layout()
plt.show()

# --8<-- [start:line]
TEXT = "TRANIO:\nOf Pisa, sir;"       # from the validation split: a name, then a line
ids_1T = jnp.asarray([tok.encode(TEXT)])
probs_LNTS = np.asarray(trace(model, ids_1T).probs_LBNTS[:, 0])
# --8<-- [end:line]
future_TS = np.triu(np.ones((len(TEXT),) * 2, bool), k=1)
ticks = [i for i, c in enumerate(TEXT) if c in "\n "]
for layer in range(L):
    fig, axes = plt.subplots(1, N, figsize=(4.6, 1.95))
    for head, ax in enumerate(axes):
        ax.imshow(np.ma.masked_where(future_TS, probs_LNTS[layer, head]), vmin=0, vmax=1,
                  cmap="viridis", interpolation="nearest")
        ax.set_xticks(ticks, [shown(TEXT[i]) for i in ticks], fontsize=9)
        ax.set_yticks(ticks, [shown(TEXT[i]) for i in ticks] if head == 0 else [], fontsize=9)
        ax.tick_params(length=2, pad=1)
        ax.grid(False)
        ax.set_title(f"{layer}.{head} {names_LN[layer, head]}", fontsize=9, pad=2)
    fig.suptitle(f"Layer {layer}'s heads on one line (rows read, columns are read)", fontsize=9)
    fig.tight_layout(w_pad=0.1, pad=0.2)
    plt.show()
