"""How a planted copy is edited: each word, with probability `rate`, swapped with its
neighbour, deleted, or preceded by a word from the corpus (data/planted.py).

Run on its own: python snippets/training/edit_words.py   (instant)
"""

import random

from rawweights_jax.data.planted import edit_words

# --8<-- [start:edit]
speech = "O Romeo, Romeo! wherefore art thou Romeo?\nDeny thy father and refuse thy name;"
rng = random.Random(2)
for rate in (0.1, 0.2):
    print(f"rate {rate}:", edit_words(speech, rate, rng, ["gentle", "sweet", "lord"]).replace("\n", " / "))
# --8<-- [end:edit]
