"""Every strategy on 8 simulated devices, from the committed result of `rawweights bench
parallel --devices 8` (6.5 minutes of a 2-core CPU: a benchmark, not a build step): bytes
communicated per step, read from the compiled HLO and from the formula, and the memory of
weights and AdamW state on each device.

Run on its own: python snippets/training/parallel_bench.py
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
from rwsite.claims import claim, value
from rwsite.tables import table

RESULT = "benchmarks/results/parallel-cpu-2026-12-04.json"
result = json.loads((Path(__file__).resolve().parents[2] / RESULT).read_text())
rows = {r["name"]: r for r in result["strategies"]}
print(f"{result['device']}, {result['date']}, commit {result['commit']}: {result['command']}")

# --8<-- [start:table]
table(["strategy", "mesh", "max loss diff", "HLO MB", "formula MB", "state MB / device", "bubble"],
      [[r["name"], r["mesh"], f"{r['max_loss_diff']:.1e}", f"{r['comm_bytes_hlo'] / 1e6:.2f}",
        f"{r['comm_bytes_formula'] / 1e6:.2f}", f"{r['memory_bytes_per_device'] / 1e6:.2f}",
        f"{r['bubble_fraction']:.3f}" if "bubble_fraction" in r else ""]
       for r in rows.values()], align="llrrrrr")
# --8<-- [end:table]

names = list(rows)
fig, ax = plt.subplots(figsize=(6, 4))
y = range(len(names))
ax.barh(y, [rows[n]["comm_bytes_hlo"] / 1e6 for n in names], color="C0", label="HLO")
ax.scatter([rows[n]["comm_bytes_formula"] / 1e6 for n in names], y, color="C1", marker="|",
           s=300, linewidths=3, label="formula", zorder=3)
ax.set_yticks(list(y), names)
ax.invert_yaxis()
ax.set_xlabel("MB handed to collectives per device and step")
ax.set_title("Communication, 8 devices")
ax.legend(loc="lower right")
plt.show()

fig, ax = plt.subplots(figsize=(6, 4))
one = result["one_device_memory_bytes"]
ax.barh(y, [rows[n]["memory_bytes_per_device"] / one[rows[n]["model"]] for n in names], color="C2")
ax.set_yticks(list(y), names)
ax.invert_yaxis()
ax.set_xlabel("weights + AdamW state per device / one device's")
ax.set_title("Memory per device")
plt.show()

worst = max(r["max_loss_diff"] for n, r in rows.items() if n != "dp-int8")
ratio = max(abs(r["comm_bytes_hlo"] / r["comm_bytes_formula"] - 1) for r in rows.values())
claim(worst < 1e-5, "every exact strategy within 1e-5 of one device's losses", worst=worst)
claim(ratio < 0.05, "HLO bytes within 5% of the formula for every strategy", ratio=ratio)
claim(rows["dp-int8"]["max_loss_diff"] > 1e-4, "int8 gradients change the loss visibly")
value("bench_worst_diff", f"{worst:.1e}")
value("bench_worst_ratio", f"{ratio * 100:.3f}%")
value("int8_diff", f"{rows['dp-int8']['max_loss_diff']:.1e}")
value("int8_bytes_ratio", f"{rows['dp-int8']['comm_bytes_hlo'] / rows['dp']['comm_bytes_hlo']:.2f}")
value("dp_mb", f"{rows['dp']['comm_bytes_hlo'] / 1e6:.2f}")
value("fsdp_mb", f"{rows['fsdp']['comm_bytes_hlo'] / 1e6:.2f}")
value("tp_mb", f"{rows['tp']['comm_bytes_hlo'] / 1e6:.2f}")
value("ep_mb", f"{rows['ep']['comm_bytes_hlo'] / 1e6:.1f}")
value("fsdp_memory", f"{rows['fsdp']['memory_bytes_per_device'] / one['bench_model']:.3f}")
value("bubble", f"{rows['pp-gpipe']['bubble_fraction']:.3f}")
value("bubble_formula", f"{rows['pp-gpipe']['bubble_fraction_formula']:.3f}")
value("gpipe_in_flight", str(rows["pp-gpipe"]["peak_microbatches_in_flight"]))
value("onef_in_flight", str(rows["pp-1f1b"]["peak_microbatches_in_flight"]))
value("onef_over_gpipe", f"{rows['pp-1f1b']['comm_bytes_hlo'] / rows['pp-gpipe']['comm_bytes_hlo']:.2f}")
