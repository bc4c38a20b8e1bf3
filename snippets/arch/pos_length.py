"""Four position schemes trained at 64 characters, then asked to read 256.

The small student of `_experiments.py` (4 layers of width 64, 400 steps, context 64) with
learned, sinusoidal, rotary or no position information; everything else equal. Each is then
scored position by position on 256 validation sequences of 256 characters: the mean loss at
position t says how well it guesses character t + 1 having read t + 1 characters.

Run on its own: python snippets/arch/pos_length.py   (the training: python benchmarks/arch_experiments.py students)
"""

import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from _experiments import EVAL_LEN, STUDENTS_RESULT, made_by, small_config, student_runs, unigram_loss
from rawweights_jax.model.gpt import init_model

runs = student_runs()
KINDS = ("learned", "sinusoidal", "sinusoidal, tokens x sqrt(D)", "rope", "none")
T = small_config().model.context_len

# --8<-- [start:table]
print(made_by(STUDENTS_RESULT))
spans = ((0, 8), (8, T), (T, 2 * T), (2 * T, EVAL_LEN))
print(f"mean loss by position, nats per character (trained at context {T})")
print(f"{'position':30}{'val@64':>8}" + "".join(f"{f'{a}-{b - 1}':>9}" for a, b in spans))
for kind in KINDS:
    nll = np.array(runs[kind]["nll_by_position"])
    print(f"{kind:30}{runs[kind]['eval']['val_loss']:8.3f}"
          + "".join(f"{nll[a:b].mean():9.3f}" for a, b in spans))
print(f"guessing by character frequency alone: {unigram_loss():.3f}")
# --8<-- [end:table]

# --8<-- [start:clamp]
wpe_TD = init_model(small_config().model).wpe_TD[...]          # the learned table: rows 0..63
rows = wpe_TD[jnp.array([63, 64, 200])]                  # JAX clamps indices past the end
print(f"learned table: {wpe_TD.shape[0]} rows; rows asked for positions 64 and 200 "
      f"equal row 63: {bool((rows[1] == rows[0]).all() and (rows[2] == rows[0]).all())}")
# --8<-- [end:clamp]

fig, ax = plt.subplots(figsize=(7.2, 3.8))
pos = np.arange(EVAL_LEN)
for i, kind in enumerate(KINDS):
    nll = np.array(runs[kind]["nll_by_position"])
    smooth = np.convolve(nll, np.ones(9) / 9, mode="valid")  # the trend, not the noise
    ax.plot(pos[4:-4], smooth, color=f"C{i}", label=kind)
ax.axvline(T - 0.5, color="C7", linestyle="--", linewidth=0.8)
ax.text(T + 2, 1.95, f"trained up to {T}", color="C7", fontsize=8)
ax.set_xlabel("position in the sequence")
ax.set_ylabel("mean loss (nats per character)")
ax.set_ylim(1.9, 3.5)
ax.set_title("Reading past the training length (mean of 9 positions)")
ax.legend(fontsize=8, loc="upper right", bbox_to_anchor=(1, 0.8), ncols=2)
fig.tight_layout()
plt.show()
