"""Attention's cost over sequence length: time and peak memory of every backend, measured.

One attention call (batch 1, 4 heads of width 64, causal), forward and backward, at lengths
256 to 4096, by the library's `bench_attention`. That benchmark skips the Pallas kernel on a
CPU, where Pallas can only interpret the kernel; this snippet times the interpreted kernel
with the benchmark's own measurement (`measure_attention`) at short lengths, so it appears
on the plot, marked as such.

Run on its own: python snippets/arch/attn_bench.py   (about 40 s on a 2-core CPU)
"""

import matplotlib.pyplot as plt
import numpy as np

from rawweights_jax.bench.attention import bench_attention, measure_attention
from rwsite.claims import claim, value

# --8<-- [start:bench]
LENGTHS = (256, 512, 1024, 2048, 4096)
PALLAS_LENGTHS = (256, 512, 1024)        # interpreted on a CPU: kept short
result = bench_attention(LENGTHS, backends=("naive", "xla", "blockwise"), quiet=True)
rows = [r for r in result["runs"] if "ms" in r]


rows += [measure_attention("pallas", T) for T in PALLAS_LENGTHS]   # interpreted
# --8<-- [end:bench]

# --8<-- [start:table]
backends = ("naive", "xla", "blockwise", "pallas")
at = {(r["backend"], r["T"]): r for r in rows}
print(f"forward + backward, batch {result['batch']}, {result['heads']} heads of "
      f"{result['head_dim']}, causal; {result['device']} ({result['platform']})")
print("time, ms (median of 3 runs; 1 run at 4096)")
print(f"{'T':>6}" + "".join(f"{b:>11}" for b in backends))
for T in LENGTHS:
    cell = lambda b: f"{at[b, T]['ms']:11.1f}" if (b, T) in at else f"{'-':>11}"
    print(f"{T:>6}" + "".join(cell(b) for b in backends))
print("peak memory of the compiled call, MiB (XLA's own account)")
for T in LENGTHS:
    cell = lambda b: (f"{at[b, T]['peak_bytes'] / 2**20:11.1f}" if (b, T) in at
                      else f"{'-':>11}")
    print(f"{T:>6}" + "".join(cell(b) for b in backends))
long, short = LENGTHS[-1], LENGTHS[-2]
for b in ("naive", "blockwise"):
    print(f"{b}: doubling T from {short} to {long} multiplies time by "
          f"{at[b, long]['ms'] / at[b, short]['ms']:.1f}, memory by "
          f"{at[b, long]['peak_bytes'] / at[b, short]['peak_bytes']:.1f}")
time_x = {b: at[b, long]["ms"] / at[b, short]["ms"] for b in ("naive", "xla", "blockwise")}
memory_x = {b: at[b, long]["peak_bytes"] / at[b, short]["peak_bytes"] for b in ("naive", "xla", "blockwise")}
for b in time_x:
    value(f"{b}_time_x", f"{time_x[b]:.1f}")
    value(f"{b}_memory_x", f"{memory_x[b]:.1f}")
claim(all(3.5 < memory_x[b] < 4.5 for b in ("naive", "xla")),
      "naive and xla memory grows about four times per doubling", **memory_x)
claim(memory_x["blockwise"] < 2.2, "blockwise memory grows about two times per doubling", **memory_x)
claim(all(t > 2.5 for t in time_x.values()), "every backend's time grows faster than linearly", **time_x)
scores = result["heads"] * long * long * 4
print(f"one T x T score matrix for {result['heads']} heads at T={long}: "
      f"{scores / 2**20:.0f} MiB in float32")
# --8<-- [end:table]

fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(9, 3.6))
for i, b in enumerate(backends):
    Ts = [T for T in LENGTHS if (b, T) in at]
    style = dict(color=f"C{i}", marker="o", markersize=3,
                 linestyle="--" if b == "pallas" else "-",
                 label=b + (" (interpreted)" if b == "pallas" else ""))
    ax_t.plot(Ts, [at[b, T]["ms"] for T in Ts], **style)
    ax_m.plot(Ts, [at[b, T]["peak_bytes"] / 2**20 for T in Ts], **style)
Ts = np.array(LENGTHS, float)
ref = at["naive", LENGTHS[2]]
ax_t.plot(Ts, ref["ms"] * (Ts / LENGTHS[2]) ** 2, color="C5", linewidth=0.8, alpha=0.6,
          label=r"$\propto T^2$")
for ax, what in ((ax_t, "time, ms"), (ax_m, "peak memory, MiB")):
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("sequence length T")
    ax.set_ylabel(what)
    ax.set_xticks(LENGTHS, [str(T) for T in LENGTHS])
ax_t.set_title("Forward + backward time")
ax_m.set_title("Peak memory")
ax_t.legend(fontsize=8)
fig.tight_layout()
plt.show()
