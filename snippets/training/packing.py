"""Tiny Shakespeare's speeches as character tokens, padded one per row against packed end to
end with a newline between them, for three window lengths: rows needed and padding.

Run on its own: python snippets/training/packing.py   (a second)
"""

from rwsite.claims import value

from rawweights_jax.data.packing import padding_report
from rawweights_jax.data.planted import speeches
from rawweights_jax.data.shakespeare import shakespeare_text
from rawweights_jax.data.tokenizer import CharTokenizer

text = shakespeare_text()

# --8<-- [start:packing]
tok = CharTokenizer.from_text(text)
docs = [tok.encode(s) for s in speeches(text, min_chars=1)]     # every speech, as characters
for window in (64, 256, 1024):
    r = padding_report(docs, window, separator=tok.index["\n"])
    print(f"window {window:>4}: padding each speech {r['padded_rows']:>6,} rows "
          f"({r['padded_fraction']:5.1%} padding), packed {r['packed_rows']:>6,} rows "
          f"({r['packed_fraction']:.2%}): {r['rows_saved']:.0%} fewer")
# --8<-- [end:packing]

r256 = padding_report(docs, 256, separator=tok.index["\n"])
value("speeches", f"{len(docs):,}")
value("pad256", f"{r256['padded_fraction']:.0%}")
value("saved256", f"{r256['rows_saved']:.0%}")
