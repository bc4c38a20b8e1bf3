"""This machine's roofline, and where prefill and decode of three presets land under it, from
the committed `rawweights bench roofline` result (`python benchmarks/record.py roofline`, a
few minutes); this snippet only reads the file and draws it.

Run on its own: python snippets/inference/roofline_results.py   (a second)
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from rwsite.claims import claim, value

ROOT = Path(__file__).resolve().parents[2]
RESULT = "benchmarks/results/roofline-cpu-2026-12-04.json"

# --8<-- [start:table]
r = json.loads((ROOT / RESULT).read_text())
peak, bw, ridge = r["matmul_peak_gflops"], r["memory_bandwidth_gbs"], r["ridge_flops_per_byte"]
print(f"{r['device']}, {r['date']}, commit {r['commit']}")
print(f"matmul peak {peak:.0f} GFLOP/s, read bandwidth {bw:.1f} GB/s: ridge at {ridge:.1f} FLOP/byte\n")
print(f"{'preset':21} {'phase':7} {'batch':>5} {'FLOP/B':>7} {'GFLOP/s':>8} {'roof':>6} {'of roof':>7}")
for row in r["rows"]:
    print(f"{row['preset']:21} {row['phase']:7} {row['batch']:5d} {row['arithmetic_intensity']:7.1f} "
          f"{row['achieved_gflops']:8.1f} {row['roof_gflops']:6.0f} {row['fraction_of_roof']:7.2f}")
# --8<-- [end:table]

rows = r["rows"]
presets = list(dict.fromkeys(row["preset"] for row in rows))
fig, ax = plt.subplots(figsize=(6.4, 4.0))
x = np.logspace(-1.3, 3.3, 200)
ax.plot(x, np.minimum(peak, x * bw), color="0.3", linewidth=1.5, label="roof: min(peak, intensity x bandwidth)")
ax.axvline(ridge, color="0.6", linestyle=":", linewidth=1)
ax.annotate(f"ridge {ridge:.1f} FLOP/byte", (ridge, peak * 1.15), xytext=(-4, 0), ha="right",
            textcoords="offset points", fontsize=9, color="0.35")
for i, name in enumerate(presets):
    for phase, marker in (("prefill", "o"), ("decode", "^")):
        pts = [row for row in rows if row["preset"] == name and row["phase"] == phase]
        ax.scatter([p["arithmetic_intensity"] for p in pts], [p["achieved_gflops"] for p in pts],
                   color=f"C{i}", marker=marker, s=36, zorder=3,
                   label=f"{name}, {phase}")
        for p in pts:
            ax.annotate(f"b{p['batch']}", (p["arithmetic_intensity"], p["achieved_gflops"]),
                        xytext=(4, -10), textcoords="offset points", fontsize=8, color=f"C{i}")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("arithmetic intensity (FLOP per byte moved)")
ax.set_ylabel("achieved GFLOP/s")
ax.set_title("Prefill (circles) and decode (triangles) under this machine's roofline")
ax.legend(fontsize=8, loc="lower right")
plt.show()

by = {(row["preset"], row["phase"], row["batch"]): row for row in rows}
big = "gpt2-small"
value("peak", f"{peak:.0f} GFLOP/s")
value("bandwidth", f"{bw:.1f} GB/s")
value("ridge", f"{ridge:.1f}")
value("decode_b1_intensity", f"{by[(big, 'decode', 1)]['arithmetic_intensity']:.2f}")
value("gpt2_decode_b1_gbs", f"{by[(big, 'decode', 1)]['achieved_gbs']:.1f} GB/s")
value("gpt2_decode_b1_gflops", f"{by[(big, 'decode', 1)]['achieved_gflops']:.1f}")
value("gpt2_decode_b64_gflops", f"{by[(big, 'decode', 64)]['achieved_gflops']:.0f}")
value("gpt2_prefill_b1_gflops", f"{by[(big, 'prefill', 1)]['achieved_gflops']:.0f}")
value("gpt2_prefill_b1_intensity", f"{by[(big, 'prefill', 1)]['arithmetic_intensity']:.0f}")
value("gpt2_critical_batch", str(r["critical_batch"][big]))
value("decode_speedup_b64", f"{by[(big, 'decode', 64)]['achieved_gflops'] / by[(big, 'decode', 1)]['achieved_gflops']:.0f}")
claim(all(row["arithmetic_intensity"] < ridge for row in rows if row["phase"] == "decode" and row["batch"] == 1),
      "every batch-1 decode step sits left of the ridge (memory-bound)")
claim(all(row["arithmetic_intensity"] > ridge for row in rows if row["phase"] == "prefill"),
      "every prefill of 48-64 tokens sits right of the ridge (compute-bound)")
claim(by[(big, "decode", 64)]["achieved_gflops"] > 8 * by[(big, "decode", 1)]["achieved_gflops"],
      "a batch of 64 decodes gpt2-small at more than 8x the FLOP/s of batch 1",
      b1=by[(big, "decode", 1)]["achieved_gflops"], b64=by[(big, "decode", 64)]["achieved_gflops"])
