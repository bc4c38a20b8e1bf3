"""Characters tiny Shakespeare never uses: the character tokenizer refuses them and names the
first; a byte-level BPE (here one of 300 tokens, learned from the first 100,000 characters)
spells them as their UTF-8 bytes and decodes them back exactly.

Run on its own: python snippets/training/bpe_fallback.py   (a second)
"""

from rwsite.claims import claim

from rawweights_jax.data.bpe import train_bpe
from rawweights_jax.data.shakespeare import shakespeare_text
from rawweights_jax.data.tokenizer import CharTokenizer

text = shakespeare_text()[:100_000]
bpe, char = train_bpe(text, 300), CharTokenizer.from_text(text)

# --8<-- [start:fallback]
odd = "Œdipus ☃"                 # Œ is 2 bytes in UTF-8, ☃ is 3
print(bpe.encode(odd), "->", repr(bpe.decode(bpe.encode(odd))))
try:
    char.encode(odd)
except ValueError as err:
    print("character tokenizer:", err)
# --8<-- [end:fallback]

claim(bpe.decode(bpe.encode(odd)) == odd, "unseen characters round-trip through their bytes")
