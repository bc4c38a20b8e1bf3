"""Four ways to normalise, trained at a calm and at an aggressive learning rate.

The small student of `_experiments.py` (4 layers of width 64) with pre-LN (GPT-2), post-LN
(the 2017 Transformer), pre-RMSNorm (Llama) and pre-RMSNorm with QK-norm (Qwen3, Gemma 3);
everything else equal, including the initial weights' seed and the batches. Each trained for
300 steps with a 10-step warm-up to a peak rate of 3e-3, then to ten times that.

Run on its own: python snippets/arch/norm_train.py   (the training: python benchmarks/arch_experiments.py norms)
"""

import matplotlib.pyplot as plt
import numpy as np

from rwsite.claims import claim
from _experiments import NORM_LRS, NORM_STEPS, NORMS, NORMS_RESULT, made_by, norm_runs, unigram_loss

runs = norm_runs()

# --8<-- [start:table]
print(made_by(NORMS_RESULT))
print(f"validation loss after {NORM_STEPS} steps (50 batches), by peak learning rate")
print(f"{'':31}" + "".join(f"{f'lr {lr:g}':>10}" for lr in NORM_LRS))
for name in NORMS:
    print(f"{name:31}" + "".join(f"{runs[f'{name} @ {lr:g}']['eval']['val_loss']:10.3f}"
                                 for lr in NORM_LRS))
print(f"(guessing by character frequency alone: {unigram_loss():.3f})")
print("largest gradient norm in any step (the clip is at 1.0)")
for name in NORMS:
    print(f"{name:31}" + "".join(f"{max(runs[f'{name} @ {lr:g}']['grad_norm']):10.2f}"
                                 for lr in NORM_LRS))
# --8<-- [end:table]

calm, high = (f"{lr:g}" for lr in NORM_LRS)
val = {k: r["eval"]["val_loss"] for k, r in runs.items()}
claim(val[f"post-LN (2017) @ {high}"] > unigram_loss() - 0.1,
      "post-LN at the high rate stays at the level of guessing by character frequency",
      post_ln=val[f"post-LN (2017) @ {high}"], unigram=unigram_loss())
claim(min(val, key=lambda k: val[k] if k.endswith(high) else 9) == f"pre-RMSNorm + QK-norm (Qwen3) @ {high}",
      "QK-norm loses least at the high rate")
claim(abs(val[f"pre-RMSNorm + QK-norm (Qwen3) @ {calm}"] - val[f"pre-RMSNorm (Llama) @ {calm}"]) < 0.02,
      "at the calm rate QK-norm changes nothing measurable")
peak = {k: max(r["grad_norm"]) for k, r in runs.items()}
claim(max(peak, key=peak.get) == f"pre-RMSNorm (Llama) @ {high}",
      "the largest gradient norm of any run is pre-RMSNorm's at the high rate", **peak)

fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
steps = np.arange(1, NORM_STEPS + 1)
for ax, lr in zip(axes, NORM_LRS):
    for i, name in enumerate(NORMS):
        loss = np.array(runs[f"{name} @ {lr:g}"]["loss"])
        smooth = np.convolve(loss, np.ones(10) / 10, mode="valid")
        ax.plot(steps[9:], smooth, color=f"C{i}", label=name)
    ax.set_title(f"peak learning rate {lr:g}")
    ax.set_xlabel("step")
    ax.set_ylim(2.3, 4.3)
axes[0].set_ylabel("training loss (mean of 10 steps)")
axes[1].legend(fontsize=8)
fig.tight_layout()
plt.show()
