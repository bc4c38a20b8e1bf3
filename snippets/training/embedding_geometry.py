"""The geometry of the student's 65 character vectors (its token embedding table, which the tied
output layer also scores with): which characters training put near each other, as a map in 2-D
and as the cosine similarity of every pair.

Run on its own: python snippets/training/embedding_geometry.py  (once the robot student exists)
"""

import matplotlib.pyplot as plt
import numpy as np

from _weights import CLASS_COLOURS, load_student, shown
from rawweights_jax.analysis.weights import CHAR_CLASSES, char_class, cosine_similarity, pca_2d
from rawweights_jax.model.gpt import init_model
from rwsite.claims import claim, heatmap, value

model, tok, run, _ = load_student()
chars = [tok.decode([i]) for i in range(run.model.vocab_size)]

# --8<-- [start:geometry]
wte_VD = np.asarray(model.wte_VD[...])
cos_VV = cosine_similarity(wte_VD)
xy_V2, share_2 = pca_2d(wte_VD)
kind_V = np.array([char_class(c) for c in chars])
# --8<-- [end:geometry]
start_VV = cosine_similarity(np.asarray(init_model(run.model, run.train.seed).wte_VD[...]))
off_VV = ~np.eye(len(chars), dtype=bool)

def mean_cos(c_VV, a, b) -> float:
    """Mean cosine between characters of class a and of class b (distinct characters)."""
    return float(c_VV[np.ix_(kind_V == a, kind_V == b)][off_VV[np.ix_(kind_V == a, kind_V == b)]].mean())

print(f"two main directions carry {share_2[0]:.0%} and {share_2[1]:.0%} of the variance")
print("mean cosine within a class, and with the other classes (at step 0 in brackets):")
within, between = {}, {}
for k in CHAR_CLASSES:
    within[k] = mean_cos(cos_VV, k, k) if np.sum(kind_V == k) > 1 else float("nan")
    mask = np.ix_(kind_V == k, kind_V != k)
    between[k] = float(cos_VV[mask].mean())
    print(f"  {k:>11} ({np.sum(kind_V == k):2} chars): within {within[k]:+.2f} "
          f"({mean_cos(start_VV, k, k) if np.sum(kind_V == k) > 1 else float('nan'):+.2f}), "
          f"with others {between[k]:+.2f} ({float(start_VV[mask].mean()):+.2f})")
letters = [c for c in chars if c.islower() and c.upper() in chars]
pair = np.array([cos_VV[chars.index(c), chars.index(c.upper())] for c in letters])
lower_V = np.isin(kind_V, ["vowel", "consonant"])
cross = float(cos_VV[np.ix_(lower_V, kind_V == "capital")].mean())
print(f"a letter and its capital: mean cosine {pair.mean():+.2f} (any capital with any lower-case "
      f"letter: {cross:+.2f}); highest {letters[pair.argmax()]}/{letters[pair.argmax()].upper()} "
      f"{pair.max():+.2f}")
for c in ["a", "T", ",", "\n"]:
    order = [j for j in np.argsort(-cos_VV[chars.index(c)]) if j != chars.index(c)][:5]
    print(f"  nearest to {shown(c)}: " + "  ".join(f"{shown(chars[j])} {cos_VV[chars.index(c), j]:.2f}"
                                               for j in order))

for k in ("vowel", "capital", "punctuation"):
    claim(within[k] > between[k] + 0.3, f"{k}s are far more alike among themselves than with the rest",
          within=within[k], between=between[k])
    value(f"{k}_within", f"{within[k]:.2f}")
    value(f"{k}_between", f"{between[k]:.2f}")
claim(max(abs(mean_cos(start_VV, k, k)) for k in ("vowel", "capital", "punctuation")) < 0.1,
      "at step 0 no class is alike: the vectors are random")
claim(pair.mean() > cross + 0.2, "a letter is closer to its own capital than to capitals in general")
value("consonant_within", f"{within['consonant']:.2f}")
value("pair_cos", f"{pair.mean():.2f}")
value("cross_cos", f"{cross:.2f}")
best = letters[pair.argmax()]
value("pair_best", f"{best}/{best.upper()}")
value("pair_best_cos", f"{pair.max():.2f}")
near_a = [chars[j] for j in np.argsort(-cos_VV[chars.index("a")]) if chars[j] != "a"][:3]
claim(set(near_a) <= set("eiou"), "the three nearest to a are vowels", near=near_a)
centre = {k: xy_V2[kind_V == k].mean(0) for k in CHAR_CLASSES}
scatter = np.mean([np.linalg.norm(xy_V2[kind_V == k] - centre[k], axis=1).mean() for k in CHAR_CLASSES])
gap = np.linalg.norm(centre["capital"] - (centre["vowel"] * 5 + centre["consonant"] * 21) / 26)
claim(gap > scatter, "on the map the capitals sit apart from the lower-case letters", gap=gap, scatter=scatter)
far = [chars[i] for i in np.argsort(-np.abs(xy_V2[:, 0] - np.median(xy_V2[:, 0])))[:3]]
claim(set(far) == set("&$3"), "the three characters farthest out along the first direction are & $ 3", far=far)
value("pca_1", f"{share_2[0]:.0%}")
value("pca_2", f"{share_2[1]:.0%}")
value("V", str(len(chars)))

# The map: every character at its place along the two main directions, coloured by its class.
fig, ax = plt.subplots(figsize=(4.6, 3.6))
for (x, y), c, k in zip(xy_V2, chars, kind_V):
    ax.text(x, y, shown(c), color=CLASS_COLOURS[k], ha="center", va="center", fontsize=10)
for k in CHAR_CLASSES:
    ax.plot([], [], "s", color=CLASS_COLOURS[k], label=k)
pad = 0.06 * np.ptp(xy_V2, axis=0)
ax.set_xlim(xy_V2[:, 0].min() - pad[0], xy_V2[:, 0].max() + pad[0])
ax.set_ylim(xy_V2[:, 1].min() - pad[1], xy_V2[:, 1].max() + pad[1])
ax.set_xticks([])
ax.set_yticks([])
ax.grid(False)
ax.set_xlabel(f"first direction ({share_2[0]:.0%} of the variance)", fontsize=10)
ax.set_ylabel(f"second ({share_2[1]:.0%})", fontsize=10)
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, fontsize=9, handletextpad=0.2)
ax.set_title(f"The {len(chars)} character vectors on their two main directions", fontsize=10)
fig.tight_layout()
plt.show()

# The cosine of every pair, characters grouped by class.
order = np.argsort([CHAR_CLASSES.index(k) for k in kind_V], kind="stable")
labels = [shown(chars[i]) for i in order]
fig, ax = plt.subplots(figsize=(4.6, 4.2))
image = ax.imshow(cos_VV[np.ix_(order, order)], cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
bounds = np.cumsum([np.sum(kind_V == k) for k in CHAR_CLASSES])
for b in bounds[:-1]:
    ax.axhline(b - 0.5, color="C7", linewidth=0.6)
    ax.axvline(b - 0.5, color="C7", linewidth=0.6)
mid = (np.concatenate([[0], bounds[:-1]]) + bounds - 1) / 2
ax.set_xticks(mid, CHAR_CLASSES, fontsize=9, rotation=40, ha="right")
ax.set_yticks(mid, CHAR_CLASSES, fontsize=9)
ax.tick_params(length=0)
ax.grid(False)
fig.colorbar(image, ax=ax, shrink=0.7, label="cosine").ax.tick_params(labelsize=9)
ax.set_title("Cosine similarity of every two characters", fontsize=10)
heatmap("char_cosine", image, labels, labels, row_title="character", col_title="character")
fig.tight_layout()
plt.show()
