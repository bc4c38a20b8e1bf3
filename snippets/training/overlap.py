"""How much of the validation text's word n-grams the training text already holds, for n from
1 to 13: shared words are language, shared long runs would be a leak.

Run on its own: python snippets/training/overlap.py   (a few seconds)
"""

import matplotlib.pyplot as plt
from rwsite.claims import claim, value

from rawweights_jax.data.overlap import ngram_overlap
from rawweights_jax.data.shakespeare import shakespeare_text, split_text

train_text, val_text = split_text(shakespeare_text())

# --8<-- [start:overlap]
ns = (1, 2, 3, 4, 6, 8, 13)
shares = ngram_overlap(train_text, val_text, ns)
for n, share in shares.items():
    print(f"{n:>2}-grams of validation words seen in training: {share:7.2%}")
# --8<-- [end:overlap]

fig, ax = plt.subplots(figsize=(6.4, 3.2))
ax.plot(list(shares), [100 * s for s in shares.values()], "o-", color="C0")
ax.set_xlabel("n (words in a row)")
ax.set_ylabel("validation n-grams\nseen in training (%)")
ax.set_xticks(list(shares))
ax.set_title("Train/validation overlap falls fast with n")
plt.show()

claim(shares[13] < 0.01, "almost no 13-word run of validation text appears in training", share=shares[13])
value("ov_1", f"{shares[1]:.0%}")
value("ov_4", f"{shares[4]:.1%}")
value("ov_13", f"{shares[13]:.2%}")
