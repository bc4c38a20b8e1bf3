"""The recipe benchmark's result file, read once for the snippets of docs/training/recipe.md.

The runs (eight short runs of shakespeare-char-cpu, minutes of a 2-core CPU) are more than a
page may cost on a cold build: `rawweights bench recipe` made the file below, stamped with the
device, date, command and commit; tests/test_lib_recipe.py re-runs its cheapest point.
"""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULT = "benchmarks/results/recipe-cpu-2026-12-04.json"


def load():
    """(the whole result, {run name: run})."""
    r = json.loads((ROOT / RESULT).read_text())
    return r, {run["name"]: run for run in r["runs"]}


def provenance(r) -> str:
    return (f"{r['preset']}, {r['iters']} steps per run; measured by `{r['command']}` on {r['device']}, "
            f"{r['date']}, library commit {r['commit']}")
