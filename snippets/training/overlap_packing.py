"""Two checks before training: how much of the validation text's word n-grams the training
text already holds, and how many rows packing the speeches saves over padding each one.

Run on its own: python snippets/training/overlap_packing.py   (a few seconds)
"""

import matplotlib.pyplot as plt
from rwsite.claims import claim, value

from rawweights_jax.data.overlap import ngram_overlap
from rawweights_jax.data.packing import padding_report
from rawweights_jax.data.planted import speeches
from rawweights_jax.data.shakespeare import shakespeare_text, split_text
from rawweights_jax.data.tokenizer import CharTokenizer

text = shakespeare_text()
train_text, val_text = split_text(text)

# --8<-- [start:overlap]
ns = (1, 2, 3, 4, 6, 8, 13)
shares = ngram_overlap(train_text, val_text, ns)
for n, share in shares.items():
    print(f"{n:>2}-grams of validation words seen in training: {share:7.2%}")
# --8<-- [end:overlap]

# --8<-- [start:packing]
tok = CharTokenizer.from_text(text)
docs = [tok.encode(s) for s in speeches(text, min_chars=1)]     # every speech, as characters
for window in (64, 256, 1024):
    r = padding_report(docs, window, separator=tok.index["\n"])
    print(f"window {window:>4}: padding each speech {r['padded_rows']:>6,} rows "
          f"({r['padded_fraction']:5.1%} padding), packed {r['packed_rows']:>6,} rows "
          f"({r['packed_fraction']:.2%}): {r['rows_saved']:.0%} fewer")
# --8<-- [end:packing]

fig, ax = plt.subplots(figsize=(6.4, 3.2))
ax.plot(list(shares), [100 * s for s in shares.values()], "o-", color="C0")
ax.set_xlabel("n (words in a row)")
ax.set_ylabel("validation n-grams\nseen in training (%)")
ax.set_xticks(list(shares))
ax.set_title("Train/validation overlap falls fast with n")
plt.show()

r256 = padding_report(docs, 256, separator=tok.index["\n"])
claim(shares[13] < 0.01, "almost no 13-word run of validation text appears in training", share=shares[13])
value("ov_1", f"{shares[1]:.0%}")
value("ov_4", f"{shares[4]:.1%}")
value("ov_8", f"{shares[8]:.2%}")
value("ov_13", f"{shares[13]:.2%}")
value("speeches", f"{len(docs):,}")
value("pad256", f"{r256['padded_fraction']:.0%}")
value("saved256", f"{r256['rows_saved']:.0%}")
