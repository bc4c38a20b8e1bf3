"""The Chinchilla law fitted to the isoFLOP sweep (approach 3), its uncertainty, and the
compute-optimal tokens per parameter against Chinchilla's 20.

Reads the result file of `python benchmarks/record.py scaling` (see scaling_isoflop.py), fits
L(N, D) = E + A / N^alpha + B / D^beta to its runs again with the library's fit
(rawweights_jax/analysis/scaling.py) and checks it lands on the benchmark's; the intervals are
the benchmark's bootstrap (refits on runs resampled with replacement).

Run on its own: python snippets/training/scaling_fit.py  (a few seconds)
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from _scaling import finish
from rawweights_jax.analysis.scaling import fit_law, law_optimum
from rwsite.claims import claim, value
from rwsite.tables import table

ROOT = Path(__file__).resolve().parents[2]
RESULT = "benchmarks/results/scaling-cpu-2026-12-04.json"
sweep = json.loads((ROOT / RESULT).read_text())
runs, law, chinchilla = sweep["runs"], sweep["fit"]["approach3"], sweep["chinchilla"]

# --8<-- [start:fit]
N, D, L = (np.array([r[k] for r in runs], float) for k in ("params", "tokens", "val_loss"))
fit = fit_law(N, D, L)                 # Huber loss on log L, L-BFGS from the best grid points
print(f"L(N, D) = {fit.E:.2f} + {fit.A:.3g} / N^{fit.alpha:.2f} + {fit.B:.3g} / D^{fit.beta:.2f}")
rms = np.sqrt(np.mean((np.log(fit.predict(N, D)) - np.log(L)) ** 2))
print(f"it misses the {len(runs)} measured losses by {100 * rms:.1f}% (root mean square)")
# --8<-- [end:fit]
claim(all(abs(getattr(fit, k) / law[k]["value"] - 1) < 1e-3 for k in ("E", "alpha", "beta")),
      "the fit here is the benchmark's", fit=fit)

# --8<-- [start:table]
rows = [[name, f"{law[name]['value']:.3g}", f"{law[name]['low']:.3g} to {law[name]['high']:.3g}",
         f"{chinchilla[name]:g}"] for name in ("E", "A", "B", "alpha", "beta")]
table(["constant", "fitted", f"95% interval ({sweep['fit']['n_boot']} resamples)", "Chinchilla"],
      rows, align="lrrr")
budgets = sorted({r["budget"] for r in runs})
k = sweep["fit"]["flops_per_param_token"]
best = [min((r for r in runs if r["budget"] == C), key=lambda r: r["val_loss"]) for C in budgets]
print("compute-optimal tokens per parameter (Chinchilla: about 20)")
for C, b in zip(budgets, best):
    t = law[f"tokens_per_param@{C:.3g}"]
    print(f"  C = {C:.3g}: the fitted law {t['value']:.0f} ({t['low']:.0f} to {t['high']:.0f}); "
          f"the best run {b['tokens'] / b['params']:.0f}")
# --8<-- [end:table]

tpp = [law[f"tokens_per_param@{C:.3g}"] for C in budgets]
value("alpha", f"{law['alpha']['value']:.2f}")
value("alpha_ci", f"{law['alpha']['low']:.2f} to {law['alpha']['high']:.2f}")
value("beta", f"{law['beta']['value']:.2f}")
value("beta_ci", f"{law['beta']['low']:.2f} to {law['beta']['high']:.2f}")
value("E", f"{law['E']['value']:.2f}")
value("E_ci", f"{law['E']['low']:.2f} to {law['E']['high']:.2f}")
value("a_law", f"{law['a']['value']:.2f}")
value("a_law_ci", f"{law['a']['low']:.2f} to {law['a']['high']:.2f}")
value("tpp_law", f"{tpp[0]['value']:.0f} to {tpp[-1]['value']:.0f}")
value("tpp_law_ci", f"{min(t['low'] for t in tpp):.0f} to {max(t['high'] for t in tpp):.0f}")
value("fit_rms", f"{100 * rms:.1f}%")
claim(law["alpha"]["low"] <= chinchilla["alpha"] <= law["alpha"]["high"]
      and not law["beta"]["low"] <= chinchilla["beta"] <= law["beta"]["high"]
      and law["beta"]["high"] < chinchilla["beta"],
      "Chinchilla's alpha is inside our interval, its beta above ours", law=law)
claim(law["a"]["high"] < chinchilla["a_approach2"], "our a is below Chinchilla's", a=law["a"])
claim(min(t["low"] for t in tpp) > chinchilla["tokens_per_param"],
      "even the low end of every interval is above 20 tokens per parameter")
claim(law["E"]["low"] < 0.01, "the fit cannot tell E from zero", E=law["E"])
value("k_flops", f"{k:.2f}")

fig, (left, right) = plt.subplots(1, 2, figsize=(7.6, 3.4))
for i, C in enumerate(budgets):
    sel = np.array([r["budget"] == C for r in runs])
    left.plot(L[sel], fit.predict(N[sel], D[sel]), "o", color=f"C{i}", label=f"C = {C:.3g}")
lim = [L.min() - 0.05, L.max() + 0.05]
left.plot(lim, lim, color="C7", lw=1)
finish(left, "measured validation loss", "fitted L(N, D)", "The law against the runs")
C_line = np.geomspace(budgets[0] / 3, budgets[-1] * 3, 60)
right.loglog(C_line, law_optimum(fit, C_line, k)["tokens_per_param"], color="C0", label="fitted law")
right.fill_between(budgets, [t["low"] for t in tpp], [t["high"] for t in tpp], color="C0", alpha=0.2,
                   label="95% interval")
right.loglog(budgets, [b["tokens"] / b["params"] for b in best], "s", color="C3", label="best run")
right.axhline(chinchilla["tokens_per_param"], color="C2", ls="--", lw=1, label="Chinchilla, 20")
finish(right, "training FLOPs C", "best tokens per parameter", "Compute-optimal D / N")
plt.show()
