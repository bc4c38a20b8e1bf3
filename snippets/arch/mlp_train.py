"""GELU against SwiGLU at equal parameter count: counted, trained side by side, timed.

The small student of `_experiments.py` (4 layers of width 64, 400 steps) with GPT-2's GELU MLP
(F = 4D = 256) and with SwiGLU at two thirds of that width (F = 171), each trained with two
seeds; same batches for the same seed. Then one MLP layer of each kind, forward and backward
on 4,096 positions, timed in turns.

Run on its own: python snippets/arch/mlp_train.py   (the training: python benchmarks/arch_experiments.py students)
"""

import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
from flax import nnx

from rwsite.claims import claim, value
from _experiments import STUDENTS_RESULT, made_by, student_runs, student_variants
from rawweights_jax.analysis.counts import flops_per_token, param_counts
from rawweights_jax.nn.mlp import MLP

runs, variants = student_runs(), student_variants()
NAMES = {"GELU, F=256": "learned", "SwiGLU, F=171": "swiglu",
         "GELU, other seed": "gelu, seed 7", "SwiGLU, other seed": "swiglu, seed 7"}

# --8<-- [start:counts]
for label, key in list(NAMES.items())[:2]:
    cfg = variants[key].model
    counts = param_counts(cfg)
    print(f"{label}: MLP weights {counts['mlp']:,} of {counts['total']:,} "
          f"(model counted: {runs[key]['params']:,}); "
          f"matmul FLOPs per token {flops_per_token(cfg, 64)['matmul']:,.0f}")
# --8<-- [end:counts]

# --8<-- [start:losses]
print()
print(made_by(STUDENTS_RESULT))
print("training loss (mean of the 25 steps up to there), validation loss at the end")
print(f"{'':20}{'@50':>7}{'@100':>7}{'@200':>7}{'@400':>7}{'val':>7}")
for label, key in NAMES.items():
    loss = np.array(runs[key]["loss"])
    print(f"{label:20}" + "".join(f"{loss[s - 25:s].mean():7.3f}" for s in (50, 100, 200, 400))
          + f"{runs[key]['eval']['val_loss']:7.3f}")
# --8<-- [end:losses]

val = {label: runs[key]["eval"]["val_loss"] for label, key in NAMES.items()}
gaps = (val["SwiGLU, F=171"] - val["GELU, F=256"], val["SwiGLU, other seed"] - val["GELU, other seed"])
seeds = (abs(val["GELU, F=256"] - val["GELU, other seed"]), abs(val["SwiGLU, F=171"] - val["SwiGLU, other seed"]))
value("swiglu_gap", f"{gaps[0]:.3f}")
value("swiglu_gap_seed7", f"{gaps[1]:.3f}")
value("gelu_seed_diff", f"{seeds[0]:.3f}")
value("swiglu_seed_diff", f"{seeds[1]:.3f}")
claim(min(gaps) > max(seeds), "SwiGLU ends behind GELU by more than the seeds of either kind differ",
      gaps=gaps, seeds=seeds)
behind = [np.mean(runs[s]["loss"][t - 25:t]) > np.mean(runs[g]["loss"][t - 25:t])
          for s, g in (("swiglu", "learned"), ("swiglu, seed 7", "gelu, seed 7")) for t in (50, 100, 200, 400)]
claim(all(behind), "SwiGLU is behind at every point of the table, for both seeds")


# --8<-- [start:timing]
def layer_step(cfg):
    """One MLP layer, forward and backward, compiled."""
    graphdef, params = nnx.split(MLP(cfg, rngs=nnx.Rngs(0)), nnx.Param)
    f = lambda p, x: jnp.sum(nnx.merge(graphdef, p)(x) ** 2)
    return jax.jit(jax.grad(f, argnums=(0, 1))), params


x_BTD = jax.random.normal(jax.random.key(0), (64, 64, 64))          # 4,096 positions
steps = {label: layer_step(variants[key].model) for label, key in list(NAMES.items())[:2]}
times = {label: [] for label in steps}
for fn, p in steps.values():
    jax.block_until_ready(fn(p, x_BTD))                              # compile
for _ in range(30):                                                   # in turns
    for label, (fn, p) in steps.items():
        t0 = time.perf_counter()
        jax.block_until_ready(fn(p, x_BTD))
        times[label].append(time.perf_counter() - t0)
print()
print(f"one MLP layer, forward + backward on {64 * 64:,} positions (median of 30, in turns):")
for label, t in times.items():
    print(f"  {label:14} {1000 * np.median(t):6.2f} ms")
# --8<-- [end:timing]

# --8<-- [start:init]
print()
print("at initialisation, inputs of root-mean-square 1 (what the pre-norm hands it), and one")
print("fixed random gradient arriving from above:")
upstream_BTD = jax.random.normal(jax.random.key(1), x_BTD.shape)
for label in steps:
    mlp = MLP(variants[NAMES[label]].model, rngs=nnx.Rngs(0))
    out_BTD = mlp(x_BTD)
    grads = jax.grad(lambda m: jnp.sum(m(x_BTD) * upstream_BTD))(mlp)
    print(f"  {label:14} output RMS {float(jnp.sqrt(jnp.mean(out_BTD ** 2))):.4f}; gradient "
          f"norm of its input matrix {float(jnp.linalg.norm(grads.w_in_DF[...])):.2f}")
# --8<-- [end:init]

fig, ax = plt.subplots(figsize=(7.2, 3.6))
steps_axis = np.arange(1, len(runs["learned"]["loss"]) + 1)
for label, key in NAMES.items():
    color = "C0" if label.startswith("GELU") else "C1"
    style = "--" if "seed" in label else "-"
    loss = np.array(runs[key]["loss"])
    smooth = np.convolve(loss, np.ones(25) / 25, mode="valid")
    ax.plot(steps_axis[24:], smooth, color=color, linestyle=style, label=label)
ax.set_xlabel("step")
ax.set_ylabel("training loss (mean of 25 steps)")
ax.set_ylim(2.3, 3.6)
ax.set_title("GELU and SwiGLU MLPs, same parameter count")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
