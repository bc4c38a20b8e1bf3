"""How the trained student turns characters into vectors: one learned vector per character,
plus one per position, added.

Prints the two tables' shapes and the first vectors of a short text, then asks what training
put in the tables: which characters ended up with similar vectors, and how alike the vectors
of nearby and distant positions are.

Run on its own: python snippets/robot/embeddings.py  (trains the student first if needed)
"""

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from _reading import TEXT, shown
from rawweights_jax.data.shakespeare import load_shakespeare
from _student import load_student
from rwsite.claims import claim, value

model, tok, run, _ = load_student()

# --8<-- [start:embed]
ids_BT = jnp.asarray([tok.encode(TEXT)])
B, T = ids_BT.shape
pos_BT = jnp.arange(T)[None]
wte_VD, wpe_TD = model.wte_VD[...], model.wpe_TD[...]   # the two learned tables
x_BTD = model.embed(ids_BT, pos_BT)                   # what the first layer reads

print(f"token table     wte_VD {tuple(wte_VD.shape)}   one row per character")
print(f"position table  wpe_TD {tuple(wpe_TD.shape)}    one row per position")
print(f"the text        ids_BT {tuple(ids_BT.shape)}      {TEXT!r}")
print(f"embedded        x_BTD  {tuple(x_BTD.shape)}")
same = jnp.array_equal(x_BTD, wte_VD[ids_BT] + wpe_TD[pos_BT])
print(f"x_BTD == wte_VD[ids] + wpe_TD[positions]: {bool(same)}")
# --8<-- [end:embed]
claim(same, "the first layer reads the token vector plus the position vector")
value("V", str(wte_VD.shape[0]))
value("D", str(wte_VD.shape[1]))
value("context", str(wpe_TD.shape[0]))

# What training put in the token table: cosine similarity between characters.
unit = lambda w: np.asarray(w) / np.linalg.norm(np.asarray(w), axis=-1, keepdims=True)
chars = [tok.decode([i]) for i in range(wte_VD.shape[0])]
cos_VV = unit(wte_VD) @ unit(wte_VD).T
print("\nnearest characters (cosine similarity of their vectors):")
nearest = {}
for c in ["a", "E", ".", "\n"]:
    i = chars.index(c)
    order = [j for j in np.argsort(-cos_VV[i]) if j != i][:4]
    nearest[c] = [chars[j] for j in order]
    print(f"  {shown(c)}:  " + "  ".join(f"{shown(chars[j])} {cos_VV[i, j]:.2f}" for j in order))
claim(set(nearest["a"]) == set("eiou"), "the four characters nearest to a are the other vowels",
      nearest=nearest["a"])
claim(set(nearest["."][:2]) == set("?!"), "the two nearest to . are ? and !", nearest=nearest["."])

upper = [i for i, c in enumerate(chars) if c.isupper()]
lower = [i for i, c in enumerate(chars) if c.islower()]
off = ~np.eye(len(upper), dtype=bool)
upper_upper = cos_VV[np.ix_(upper, upper)][off].mean()
upper_lower = cos_VV[np.ix_(upper, lower)].mean()
print(f"mean cosine: capital with capital {upper_upper:.2f}, capital with lower-case {upper_lower:.2f}")
claim(upper_upper > upper_lower + 0.2, "capitals are more alike among themselves than with lower-case letters")
value("upper_upper", f"{upper_upper:.2f}")
value("upper_lower", f"{upper_lower:.2f}")

# The position table: how alike are the vectors of positions d apart?
cos_TT = unit(wpe_TD) @ unit(wpe_TD).T
gaps = np.arange(1, wpe_TD.shape[0])
by_gap = np.array([np.diagonal(cos_TT, d).mean() for d in gaps])
far = 32
print(f"mean cosine of positions d apart: d=1 {by_gap[0]:.2f}, d=8 {by_gap[7]:.2f}, "
      f"d={far} {by_gap[far - 1]:.2f}")
claim(by_gap[0] > by_gap[7] > by_gap[far - 1], "position vectors grow less alike with distance")
claim(abs(by_gap[far - 1]) < 0.5 * by_gap[0], f"positions {far} apart are far less alike than neighbours")
value("pos_cos_1", f"{by_gap[0]:.2f}")
value("far_gap", str(far))
value("pos_cos_far", f"{by_gap[far - 1]:.2f}")

# A map of the token table: its two main directions (principal components). The first one
# turns out to sort characters by how common they are in the training text.
centred_VD = np.asarray(wte_VD) - np.asarray(wte_VD).mean(0)
_, _, directions = np.linalg.svd(centred_VD, full_matrices=False)
xy_V2 = centred_VD @ directions[:2].T
count_V = np.bincount(load_shakespeare().train_Z, minlength=len(chars))
rank = lambda a: np.argsort(np.argsort(a))
rho = np.corrcoef(rank(xy_V2[:, 0]), rank(count_V))[0, 1]   # Spearman's rank correlation
if rho > 0:                                                  # common on the left
    xy_V2[:, 0], rho = -xy_V2[:, 0], -rho
print(f"first direction against how common a character is: rank correlation {rho:.2f}")
claim(rho < -0.9, "the first direction sorts characters by how common they are", rho=rho)
value("freq_rho", f"{-rho:.2f}")
kinds = ["vowel", "other lower-case", "capital", "other"]
kind = lambda c: 0 if c in "aeiou" else 1 if c.islower() else 2 if c.isupper() else 3

fig, (top, bottom) = plt.subplots(2, 1, figsize=(4.2, 7.0), height_ratios=[3, 2])
for (x, y), c in zip(xy_V2, chars):
    top.text(x, y, shown(c), color=f"C{kind(c)}", ha="center", va="center", fontsize=11)
for k, name in enumerate(kinds):
    top.plot([], [], "s", color=f"C{k}", label=name)
pad = 0.08 * np.ptp(xy_V2, axis=0)
top.set_xlim(xy_V2[:, 0].min() - pad[0], xy_V2[:, 0].max() + pad[0])
top.set_ylim(xy_V2[:, 1].min() - pad[1], xy_V2[:, 1].max() + pad[1])
top.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, fontsize=10)
top.set_xticks([])
top.set_yticks([])
top.grid(False)
top.set_xlabel("first direction: common ← → rare", labelpad=4)
top.set_title(f"The {len(chars)} character vectors, flattened to 2-D", loc="left", fontsize=11)

bottom.plot(gaps, by_gap, color="C0")
bottom.axhline(0, color="C3", linestyle="--", linewidth=1)
bottom.set_xlabel("distance d between positions")
bottom.set_ylabel("mean cosine")
bottom.set_title("Position vectors d apart", loc="left", fontsize=11)
fig.tight_layout()
plt.show()
