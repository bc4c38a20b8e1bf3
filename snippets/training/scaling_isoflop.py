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

from rawweights_jax.analysis.scaling import isoflop_minimum, power_law
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
N_opt = []
for C in budgets:
    curve = [r for r in runs if r["budget"] == C]
    N_opt.append(isoflop_minimum([r["params"] for r in curve], [r["val_loss"] for r in curve]))
k = sweep["fit"]["flops_per_param_token"]          # our C = k N D (6, plus attention)
D_opt = [C / (k * n) for C, n in zip(budgets, N_opt)]
_, a = power_law(budgets, N_opt)
for C, n, d in zip(budgets, N_opt, D_opt):
    print(f"C = {C:.3g}: best N ~ {n:,.0f} parameters, D ~ {d / 1e6:.1f} M tokens, "
          f"{d / n:.0f} tokens per parameter")
print(f"N_opt grows as C^{a:.2f} (Chinchilla's approach 2: C^{sweep['chinchilla']['a_approach2']})")
# --8<-- [end:vertices]

noise = sweep["noise"]
claim(np.allclose(N_opt, sweep["fit"]["isoflop"]["N_opt"], rtol=1e-6),
      "the parabolas drawn here are the ones the benchmark fitted")
train_chars = len(load_shakespeare().train_Z)
value("n_runs", str(len(runs)))
value("n_min", f"{min(r['params'] for r in runs):,}")
value("n_max", f"{max(r['params'] for r in runs):,}")
value("max_epochs", f"{max(r['tokens'] for r in runs) / train_chars:.0f}")
value("train_chars", f"{train_chars:,}")
value("n_budgets", str(len(budgets)))
value("budget_range", f"{budgets[0]:.3g} to {budgets[-1]:.3g}")
value("sweep_minutes", f"{sweep['wall_seconds'] / 60:.0f}")
value("seed_spread", f"{noise['max_seed_spread']:.3f}")
value("a_iso", f"{a:.2f}")
value("tpp_iso", ", ".join(f"{d / n:.0f}" for n, d in zip(N_opt, D_opt)))

fig, (left, right) = plt.subplots(1, 2, figsize=(7.6, 3.4), width_ratios=(3, 2))
for i, C in enumerate(budgets):
    curve = sorted((r for r in runs if r["budget"] == C), key=lambda r: r["params"])
    N = np.array([r["params"] for r in curve], float)
    L = np.array([r["val_loss"] for r in curve])
    left.plot(N, L, "o", color=f"C{i}", label=f"C = {C:.3g}")
    x = np.linspace(np.log(N[0]) - 0.3, np.log(N[-1]) + 0.3, 100)
    left.plot(np.exp(x), np.polyval(np.polyfit(np.log(N), L, 2), x), color=f"C{i}", lw=1)
    left.axvline(N_opt[i], color=f"C{i}", ls=":", lw=1)
left.set_xscale("log")
left.set_xlabel("parameters N")
left.set_ylabel("validation loss (nats/char)")
left.set_title("IsoFLOP curves")
left.legend(fontsize=9)
C_line = np.geomspace(budgets[0] / 2, budgets[-1] * 2, 50)
k_N, _ = power_law(budgets, N_opt)
right.loglog(budgets, N_opt, "o", color="C3", label="parabola minima")
right.loglog(C_line, k_N * C_line ** a, color="C3", lw=1, label=f"N ~ C^{a:.2f}")
right.set_xlabel("training FLOPs C")
right.set_ylabel("best N")
right.set_title("Best size per budget")
right.legend(fontsize=9)
plt.show()
