"""The isoFLOP sweep: for each compute budget, four tiny GPTs trained on tiny Shakespeare for
exactly that many FLOPs, and the model size each budget likes best (approach 2).

The sweep itself (12 runs and two repeats with another seed) is more than a page may cost, so
it is a benchmark: `python benchmarks/record.py scaling` runs `rawweights bench scaling` and
writes the result file below (device, date, command, library commit). This snippet reads that
file, fits one parabola per budget (rawweights_jax/analysis/scaling.py) and draws the curves;
tests/test_lib_scaling.py re-runs the cheapest point and checks it against the file's noise.

Run on its own: python snippets/training/scaling_isoflop.py  (a second)
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from _scaling import finish
from rawweights_jax.analysis.scaling import isoflop_minimum
from rawweights_jax.data.shakespeare import load_shakespeare
from rwsite.claims import claim, value
from rwsite.tables import table

ROOT = Path(__file__).resolve().parents[2]
RESULT = "benchmarks/results/scaling-cpu-2026-12-04.json"

# --8<-- [start:runs]
sweep = json.loads((ROOT / RESULT).read_text())
runs = sweep["runs"]
print(f"run by `{sweep['command']}` on {sweep['device']}, {sweep['date']}, "
      f"library commit {sweep['commit']}: {len(runs)} runs in {sweep['wall_seconds'] / 60:.0f} min")
table(["budget C", "model", "params N", "tokens D", "D / N", "val loss"],
      [[f"{r['budget']:.3g}", r["shape"], f"{r['params']:,}", f"{r['tokens'] / 1e6:.1f} M",
        f"{r['tokens'] / r['params']:.0f}", f"{r['val_loss']:.3f}"] for r in runs], align="llrrrr")
# --8<-- [end:runs]

# --8<-- [start:vertices]
budgets = sorted({r["budget"] for r in runs})
best, vertex = [], []
for C in budgets:
    curve = sorted((r for r in runs if r["budget"] == C), key=lambda r: r["params"])
    N, L = [r["params"] for r in curve], [r["val_loss"] for r in curve]
    best.append(curve[int(np.argmin(L))])
    try:
        vertex.append(isoflop_minimum(N, L))       # the parabola's bottom, in log N
    except ValueError:                             # curving down: no bottom at all
        vertex.append(None)
    where = ("no minimum" if vertex[-1] is None else f"vertex at N ~ {vertex[-1]:,.0f}"
             + ("" if N[0] <= vertex[-1] <= N[-1] else ", outside the sweep"))
    print(f"C = {C:.3g}: lowest loss {best[-1]['val_loss']:.3f} at N = {best[-1]['params']:,} "
          f"({best[-1]['tokens'] / best[-1]['params']:.0f} tokens per parameter); parabola {where}")
# --8<-- [end:vertices]

noise = sweep["noise"]
iso = sweep["fit"]["isoflop"]
claim(("error" in iso) == (None in vertex) and
      ("error" in iso or np.allclose(vertex, iso["N_opt"], rtol=1e-6)),
      "the parabolas here are the ones the benchmark fitted", iso=iso)
smallest = {C: min(r["params"] for r in runs if r["budget"] == C) for C in budgets}
largest = {C: max(r["params"] for r in runs if r["budget"] == C) for C in budgets}
inside = [v is not None and smallest[C] <= v <= largest[C] for C, v in zip(budgets, vertex)]
claim(all(b["params"] == smallest[b["budget"]] for b in best) and not any(inside),
      "at every budget the smallest model wins and no parabola bottoms out inside the sweep",
      best=[b["shape"] for b in best], vertex=vertex)
value("best_tpp", ", ".join(f"{b['tokens'] / b['params']:.0f}" for b in best))
value("best_tpp_min", f"{min(b['tokens'] / b['params'] for b in best):.0f}")
value("min_steps", str(min(r["steps"] for r in runs)))
value("max_steps", str(max(r["steps"] for r in runs)))
train_chars = len(load_shakespeare().train_Z)
value("n_runs", str(len(runs)))
value("context", str(sweep["context"]))
value("val_chars", f"{sweep['val_windows'] * sweep['context']:,}")
value("tokens_per_step", f"{sweep['recipe']['batch_size'] * sweep['context']:,}")
value("n_min", f"{min(r['params'] for r in runs):,}")
value("n_max", f"{max(r['params'] for r in runs):,}")
value("max_epochs", f"{max(r['tokens'] for r in runs) / train_chars:.0f}")
value("train_chars", f"{train_chars:,}")
value("n_budgets", str(len(budgets)))
value("budget_range", f"{budgets[0]:.3g} to {budgets[-1]:.3g}")
value("sweep_minutes", f"{sweep['wall_seconds'] / 60:.0f}")
value("seed_spread", f"{noise['max_seed_spread']:.3f}")

fig, (left, right) = plt.subplots(1, 2, figsize=(7.6, 3.4), width_ratios=(3, 2))
for i, C in enumerate(budgets):
    curve = sorted((r for r in runs if r["budget"] == C), key=lambda r: r["params"])
    N = np.array([r["params"] for r in curve], float)
    L = np.array([r["val_loss"] for r in curve])
    left.plot(N, L, "o", color=f"C{i}", label=f"C = {C:.3g}")
    x = np.linspace(np.log(N[0]) - 0.3, np.log(N[-1]) + 0.3, 100)
    left.plot(np.exp(x), np.polyval(np.polyfit(np.log(N), L, 2), x), color=f"C{i}", lw=1)
left.set_xscale("log")
left.set_ylim(top=max(r["val_loss"] for r in runs) + 0.2)
finish(left, "parameters N", "validation loss (nats/char)", "IsoFLOP curves", loc="upper left")
right.loglog(budgets, [b["params"] for b in best], "o", color="C3", label="lowest measured")
shown = [(C, v) for C, v in zip(budgets, vertex) if v is not None]
if shown:
    right.loglog(*zip(*shown), "s", mfc="none", color="C4", label="parabola vertex")
finish(right, "training FLOPs C", "best N", "Best size per budget")
plt.show()
