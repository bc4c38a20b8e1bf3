"""RoPE drawn: one query pair turning with position, and scores that depend only on distance.

Left: a single pair of a query (one 2-D slice of a head) rotated by the library's `apply_rope`
at positions 0 to 5, for a pair that turns 1 radian per position. Right: a real head
(64 dimensions, base 10,000): one fixed query and one fixed key, placed at positions m and
m - d; their score, plotted against the distance d, is the same curve wherever the pair sits.

Run on its own: python snippets/arch/pos_rotation.py   (a few seconds)
"""

import os

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from rawweights_jax.config import ModelConfig
from rawweights_jax.nn.rope import apply_rope, rope_frequencies, rope_table
from rwsite.claims import data

key = jax.random.key(int(os.environ.get("RWSITE_SEED", 0)))


# --8<-- [start:rotate]
def rotate(x_H, positions, cfg):
    """The vector x_H placed at each of `positions`: RoPE's rotation, [P, H]."""
    pos_1P = jnp.asarray(positions, jnp.int32)[None]
    table = rope_table(pos_1P, *rope_frequencies(cfg))
    x_1P1H = jnp.broadcast_to(x_H, (1, len(positions), 1, x_H.shape[-1]))
    return apply_rope(x_1P1H, table)[0, :, 0]


# One pair: head width 2, base irrelevant (pair 0 always turns 1 radian per position).
pair = ModelConfig(d_model=2, n_heads=1, position="rope")
q_positions = np.arange(6)
q_P2 = rotate(jnp.array([1.0, 0.2]), q_positions, pair)

# A real head: width 64, 32 pairs turning from 1 down to 10000**(-31/32) radians per position.
head = ModelConfig(d_model=64, n_heads=1, position="rope", rope_theta=10000.0)
q_H, k_H = jax.random.normal(key, (2, 64))
distances = np.arange(0, 64)
curves = {}
for m in (100, 1_000, 10_000):                 # the query's absolute position
    q_m = rotate(q_H, [m], head)[0]
    k_P = rotate(k_H, m - distances, head)     # the key, d positions earlier
    curves[m] = np.asarray(k_P @ q_m) / 8.0    # score q.k / sqrt(64)
# --8<-- [end:rotate]

# --8<-- [start:check]
spread = max(np.abs(curves[m] - curves[100]).max() for m in curves)
print("score of the same query and key, d positions apart:")
for d in (0, 1, 5, 20):
    print(f"  d={d:>2}: " + "  ".join(f"query at {m:>6,}: {curves[m][d]:+.4f}" for m in curves))
print(f"largest difference between the three curves: {spread:.1e} (float32 rounding)")
# --8<-- [end:check]

# For the page's slider (docs/javascripts/): this head's query and key, the library's
# frequencies at its base, and the scores above, which the browser recomputes at any base.
data("rope_head", {"base": head.rope_theta, "width": 64, "q": [round(float(x), 5) for x in q_H],
                   "k": [round(float(x), 5) for x in k_H],
                   "theta": [float(f"{t:.7g}") for t in rope_frequencies(head)[0]],
                   "scores": [round(float(s), 5) for s in curves[100]]})

fig, (ax_q, ax_s) = plt.subplots(1, 2, figsize=(9, 3.8),
                                 gridspec_kw={"width_ratios": [1, 1.6]})
for p, (x, y) in zip(q_positions, np.asarray(q_P2)):
    ax_q.annotate("", xy=(x, y), xytext=(0, 0),
                  arrowprops=dict(arrowstyle="->", color=f"C{p}", linewidth=1.5))
    ax_q.text(1.18 * x, 1.18 * y, f"m={p}", color=f"C{p}", ha="center", va="center")
ax_q.add_patch(plt.Circle((0, 0), float(np.hypot(1.0, 0.2)), fill=False, color="C7",
                          linewidth=0.6, linestyle=":"))
ax_q.set_xlim(-1.4, 1.4)
ax_q.set_ylim(-1.4, 1.4)
ax_q.set_aspect("equal")
ax_q.set_title("one query pair at positions 0..5")
ax_q.set_xticks([])
ax_q.set_yticks([])
for i, (m, c) in enumerate(curves.items()):
    ax_s.plot(distances, c, color=f"C{i}", linewidth=[3.5, 2, 1][i],
              linestyle=["-", "-", "--"][i], alpha=[0.35, 0.7, 1][i],
              label=f"query at position {m:,}")
ax_s.set_xlabel("distance d between query and key")
ax_s.set_ylabel(r"score $q_m \cdot k_{m-d} / \sqrt{H}$")
ax_s.set_title("same query, same key: only d matters")
ax_s.legend(fontsize=8)
fig.tight_layout()
plt.show()
