"""What the soft targets hold: the robot student's next-character distribution after one
context, softened by the temperature, and how much of its probability the right character gets.

The numbers come from the committed result of `benchmarks/distill.py` (the teacher is scored
there, beside the students it teaches); this snippet only reads the file.

Run on its own: python snippets/inference/distill_targets.py   (a second)
"""

import json
from pathlib import Path

from rwsite.claims import claim, value
from rwsite.tables import table

ROOT = Path(__file__).resolve().parents[2]
RESULT = "benchmarks/results/distill-cpu-2026-12-04.json"

view = json.loads((ROOT / RESULT).read_text())["teacher"]["view"]
shown = lambda c: repr(c)[1:-1] if c.strip() else repr(c)    # a space or a newline, visibly

# --8<-- [start:targets]
print(f"the teacher reads {view['context']!r}; its next character, softened by T:")
top = {t: dict(pairs) for t, pairs in view["top"].items()}
table(["next", "T = 1", "T = 2", "T = 4"],
      [[shown(c)] + [f"{top[t][c]:.3f}" for t in ("1", "2", "4")] for c in top["1"]])
print(f"on 512 validation windows the right character gets {view['mean_p_right']:.0%} "
      "of the teacher's probability (T = 1), on average")
# --8<-- [end:targets]


value("p_right", f"{view['mean_p_right']:.0%}")
order = [[c for c, _ in view["top"][t]] for t in ("1", "2", "4")]
claim(order[0] == order[1] == order[2], "the temperature does not reorder the characters")
ratio = lambda t: top[t][order[0][1]] / top[t][order[0][0]]   # second choice / first choice
claim(ratio("1") < ratio("2") < ratio("4"), "a higher temperature brings the second choice closer to the first")
