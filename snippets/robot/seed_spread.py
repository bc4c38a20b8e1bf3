"""How much a final score moves with the random seed, from the committed training benchmarks.

Reads the result files of `benchmarks/torch_reference.py train` (the same model and run in
PyTorch, seeds 0 to 2) and of `rawweights bench train` (seeds 0 and 1): each scores the model
after 2000 steps on 200 random validation batches.

Run on its own: python snippets/robot/seed_spread.py   (a second)
"""

import json
from pathlib import Path

from rwsite.claims import claim, value

ROOT = Path(__file__).resolve().parents[2]
TORCH = "benchmarks/results/train-torch-reference-cpu-2026-12-02-epyc.json"
JAX = ("benchmarks/results/train-cpu-2026-12-02-epyc.json",          # seed 0 (the default)
       "benchmarks/results/train-seed1-cpu-2026-12-02-zen3.json")    # seed 1

# --8<-- [start:seeds]
torch_runs = json.loads((ROOT / TORCH).read_text())
torch_runs = [torch_runs, *torch_runs["other_runs"]]
by_seed = {}
for run in torch_runs:
    if run.get("gelu", "tanh").startswith("tanh"):       # the tanh GELU, as rawweights_jax's
        by_seed.setdefault(("PyTorch", run.get("seed", 0)), run["val_loss"])
for path in JAX:
    run = json.loads((ROOT / path).read_text())
    by_seed[("rawweights_jax", run.get("seed", 0))] = run["val_loss"]
print("validation loss after 2000 steps (200 random batches), by seed")
for (side, seed), loss in sorted(by_seed.items()):
    print(f"  {side:15} seed {seed}: {loss:.4f}")
# --8<-- [end:seeds]

for (side, seed), loss in by_seed.items():
    value(f"{'torch' if side == 'PyTorch' else 'jax'}_seed{seed}", f"{loss:.3f}")
torch_spread = max(l for (s, _), l in by_seed.items() if s == "PyTorch") - min(
    l for (s, _), l in by_seed.items() if s == "PyTorch")
value("torch_seed_spread", f"{torch_spread:.3f}")
gap = abs(by_seed[("PyTorch", 0)] - by_seed[("rawweights_jax", 0)])
claim(gap < torch_spread, "the two implementations differ by less than PyTorch's own seeds do",
      gap=gap, spread=torch_spread)
