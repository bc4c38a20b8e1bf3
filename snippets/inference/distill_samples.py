"""What the students write: the teacher, the hard-label student and the distilled student
continue one prompt from one random seed (sampled at temperature 0.8, and greedily).

The samples were written by `benchmarks/distill.py` right after training; this snippet only
reads its committed result file.

Run on its own: python snippets/inference/distill_samples.py   (a second)
"""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULT = "benchmarks/results/distill-cpu-2026-12-04.json"

r = json.loads((ROOT / RESULT).read_text())
teacher, hard, soft = r["teacher"], r["runs"]["hard labels"], r["runs"]["soft, T=2"]

# --8<-- [start:samples]
print(f"prompt {r['prompt']!r}, seed 0, sampled at temperature 0.8:")
for name, run in (("teacher", teacher), ("hard labels", hard), ("soft, T=2", soft)):
    print(f"\n--- {name} (val loss {run['val_loss']:.3f})")
    print(r["prompt"] + run["samples"]["sampled, T=0.8"])
print("\ngreedy (temperature 0), first 60 characters:")
for name, run in (("teacher", teacher), ("hard labels", hard), ("soft, T=2", soft)):
    print(f"  {name:12} {run['samples']['greedy'][:60]!r}")
# --8<-- [end:samples]
