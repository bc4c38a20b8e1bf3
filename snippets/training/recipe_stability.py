"""A learning rate far above the preset's, as is, with z-loss, and with QK-norm: the largest
attention logit over training and the loss (benchmarks/results/recipe-cpu-*.json).

Run on its own: python snippets/training/recipe_stability.py   (a second)
"""

import matplotlib.pyplot as plt

from _recipe import load
from rwsite.claims import claim, value
from rwsite.tables import table

r, runs = load()
names = ["cosine", "high-lr", "high-lr+z-loss", "high-lr+qk-norm"]
rows = [[name, f"{runs[name]['changes'].get('lr', 1e-3):g}", max(runs[name]["max_attention_logit"]["value"]),
         runs[name]["final_train_loss"], runs[name]["val_loss"], len(runs[name]["spikes"]),
         "yes" if runs[name]["diverged"] else "no"] for name in names]
table(["run", "peak lr", "max attention logit", "train loss", "val loss", "spikes", "diverged"],
      rows, align="lrrrrrr")

fig, (ax_logit, ax_loss) = plt.subplots(1, 2, figsize=(7.2, 3.2))
for i, name in enumerate(names):
    logit, curve = runs[name]["max_attention_logit"], runs[name]["loss_curve"]
    ax_logit.plot(logit["step"], logit["value"], marker="o", color=f"C{i}", label=name)
    ax_loss.plot(curve["step"], curve["loss"], color=f"C{i}", label=name)
ax_logit.set_xlabel("step")
ax_logit.set_ylabel("largest attention logit")
ax_logit.set_title("Attention logits")
ax_loss.set_xlabel("step")
ax_loss.set_ylabel("training loss")
ax_loss.set_title("Loss")
ax_loss.legend(fontsize=9)
fig.tight_layout()
plt.show()

for name in names:
    key = "base" if name == "cosine" else name.replace("high-lr", "high").replace("+", "_").replace("-", "_")
    value(f"{key}_logit", f"{max(runs[name]['max_attention_logit']['value']):.1f}")
    value(f"{key}_val", f"{runs[name]['val_loss']:.3f}" if runs[name]["val_loss"] is not None else "n/a")
    value(f"{key}_spikes", f"{len(runs[name]['spikes'])}")
value("high_lr", f"{r['high_lr']:g}")
claim(max(runs["high-lr+qk-norm"]["max_attention_logit"]["value"]) < 2 * max(runs["cosine"]["max_attention_logit"]["value"]),
      "QK-norm keeps the high-LR run's attention logits near the baseline's")
claim(max(runs["high-lr+z-loss"]["max_attention_logit"]["value"]) > 100, "z-loss leaves the attention logits large")
claim(runs["high-lr+qk-norm"]["val_loss"] < min(runs["high-lr"]["val_loss"], runs["high-lr+z-loss"]["val_loss"]),
      "QK-norm ends lowest of the high-LR runs")
