"""A byte-level BPE learned from tiny Shakespeare's training split, here and now: its first
merges, one line cut into characters and into its tokens, and its characters per token on the
validation split, which it never saw. (bpe_fallback.py: what it does with unseen characters.)

Run on its own: python snippets/training/bpe_live.py   (a few seconds)
"""

from rwsite.claims import claim, value

from rawweights_jax.data.bpe import merges_of, train_bpe
from rawweights_jax.data.shakespeare import shakespeare_text, split_text
from rawweights_jax.data.tokenizer import CharTokenizer

# --8<-- [start:train]
train_text, val_text = split_text(shakespeare_text())      # 90% / 10%, cut on characters
bpe = train_bpe(train_text, vocab_size=512)                 # 256 bytes + 256 merges
char = CharTokenizer.from_text(train_text)

print("first merges (Ġ stands for a space, Ċ for a newline):")
print("  " + ",  ".join(merges_of(bpe)[:12]))
line = "ROMEO:\nBut, soft! what light through yonder window breaks?"
pieces = [bpe.decode([t]) for t in bpe.encode(line)]
print(f"\n{len(char.encode(line))} characters, {len(pieces)} BPE tokens:")
print("  " + " | ".join(p.replace("\n", "\\n") for p in pieces))
ids = bpe.encode(val_text)
print(f"\nvalidation text: {len(val_text):,} characters, {len(ids):,} tokens, "
      f"{len(val_text) / len(ids):.2f} characters per token")
# --8<-- [end:train]

claim(bpe.decode(ids) == val_text, "the BPE decodes the validation text back exactly")
value("live_cpt_512", f"{len(val_text) / len(ids):.2f}")
value("line_chars", str(len(line)))
value("line_tokens", str(len(pieces)))
