"""A bigger pool of experts at a fixed active size: what 16 to 384 experts cost.

DeepSeek-V3's layer with its 8 chosen experts of width 2048 (and its shared expert) kept
fixed, and the pool of routed experts grown from 16 to 384. Arithmetic only.

Run on its own: python snippets/arch/moe_experts.py
"""

import matplotlib.pyplot as plt

from rawweights_jax.analysis.counts import param_counts
from rawweights_jax.analysis.zoo import zoo_model

# --8<-- [start:grow]
ds = zoo_model("deepseek-v3").config
BATCH = 4096                                       # tokens in one forward pass of a server
pool = [16, 32, 64, 128, 256, 384]
rows = []
print(f"DeepSeek-V3, {ds.experts_per_token} chosen experts of width {ds.d_expert} "
      f"(+{ds.n_shared_experts} shared), pool size varied:")
print(f"{'experts':>8} {'total':>7} {'active':>7} {'weights, bf16':>14} "
      f"{'tokens/expert':>14}")
for E in pool:
    c = param_counts(ds.replace(n_experts=E, router_groups=1, router_groups_per_token=1))
    per_expert = BATCH * ds.experts_per_token / E  # rows each expert's matmul gets, on average
    rows.append((E, c["total"] / 1e9, c["active"] / 1e9, per_expert))
    print(f"{E:>8} {c['total'] / 1e9:>6.0f}B {c['active'] / 1e9:>6.1f}B "
          f"{c['total'] * 2 / 2**30:>10.0f} GiB {per_expert:>14.0f}")

fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.6))
E_, total, active, per_expert = zip(*rows)
a.plot(E_, total, marker="o", color="C0", label="total")
a.plot(E_, active, marker="o", color="C1", label="active per token")
a.set_xscale("log", base=2)
a.set_xticks(pool, [str(e) for e in pool])
a.set_xlabel("routed experts per layer (8 chosen)")
a.set_ylabel("parameters, billions")
a.legend()
b.plot(E_, per_expert, marker="o", color="C2")
b.set_xscale("log", base=2)
b.set_yscale("log", base=2)
b.set_xticks(pool, [str(e) for e in pool])
b.set_yticks([64, 128, 256, 512, 1024, 2048], ["64", "128", "256", "512", "1024", "2048"])
b.set_xlabel("routed experts per layer (8 chosen)")
b.set_ylabel(f"tokens per expert ({BATCH}-token batch)")
fig.tight_layout()
plt.show()
# --8<-- [end:grow]
