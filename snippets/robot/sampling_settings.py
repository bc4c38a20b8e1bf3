"""Sampling settings side by side: greedy, temperatures, top-k, top-p, on the trained student.

Each setting continues the same prompt in 8 rows (8 independent draws) of 300 characters.
One row is printed; the table at the end covers all 8: how many of the words written occur in
the training text ("spelled"), and how many of them are distinct (variety, against loops).

Run on its own: python snippets/robot/sampling_settings.py  (trains the student first if needed)
"""

import re

from _student import load_student
from rawweights_jax.data.shakespeare import load_shakespeare
from rawweights_jax.inference.generate import generate

model, tok, run, _ = load_student()
known_words = set(re.findall(r"[a-z']+", tok.decode(load_shakespeare().train_Z).lower()))

# --8<-- [start:settings]
settings = {
    "greedy (temperature 0)": dict(temperature=0.0),
    "temperature 0.5": dict(temperature=0.5),
    "temperature 0.8": dict(temperature=0.8),
    "temperature 1.0": dict(temperature=1.0),
    "temperature 1.5": dict(temperature=1.5),
    "temperature 1.0, top-k 10": dict(temperature=1.0, top_k=10),
    "temperature 1.0, top-p 0.9": dict(temperature=1.0, top_p=0.9),
}
prompt = tok.encode("ROMEO:\n")
table = []
for name, sampling in settings.items():
    new = generate(model, [prompt] * 8, 300, seed=1, **sampling)
    rows = [tok.decode(r) for r in new]
    words = [w for r in rows for w in re.findall(r"[a-z']+", r.lower())]
    spelled = sum(w in known_words for w in words) / len(words)
    distinct = len(set(words)) / len(words)
    table.append(f"{name:28}{len(words):6}{spelled:9.0%}{distinct:10.0%}")
    print(f"── {name} ──")
    print(rows[0][:150].rstrip())
    print()
print(f"{'all 8 rows of each setting':28}"
      f"{'words':>6}{'spelled':>9}{'distinct':>10}")
print("\n".join(table))
# --8<-- [end:settings]
