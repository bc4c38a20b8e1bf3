"""The laziest robot student: guess the next character from the one before it, by counting.

Run on its own: python snippets/robot/next_char_counts.py
"""

from collections import Counter, defaultdict

TEXT = """\
ROMEO:
But, soft! what light through yonder window breaks?
It is the east, and Juliet is the sun.
JULIET:
O Romeo, Romeo! wherefore art thou Romeo?
"""

# --8<-- [start:count]
follows: dict[str, Counter] = defaultdict(Counter)
for current, nxt in zip(TEXT, TEXT[1:]):
    follows[current][nxt] += 1      # after `current`, the text went on with `nxt`


def guesses(char: str, k: int = 3) -> list[tuple[str, float]]:
    """The k likeliest characters after `char`, with probabilities."""
    counts = follows[char]
    total = sum(counts.values())
    return [(nxt, n / total) for nxt, n in counts.most_common(k)]
# --8<-- [end:count]


# --8<-- [start:demo]
for char in ["R", "o", "e", " "]:
    shown = ", ".join(f"{nxt!r} {p:.0%}" for nxt, p in guesses(char))
    print(f"after {char!r}: {shown}")
# --8<-- [end:demo]
