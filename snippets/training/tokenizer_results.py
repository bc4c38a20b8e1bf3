"""Characters per token against vocabulary size, and a character model against BPE models
trained for the same FLOPs, scored in bits per character on the same validation text: from the
committed `rawweights bench tokenizers` result.

The benchmark (`python benchmarks/record.py tokenizers`, several minutes: three models trained
for about a thousand steps each) is more than a page may cost; this snippet reads its file, and
a test re-trains the BPE of 512 tokens and checks its characters per token against it.

Run on its own: python snippets/training/tokenizer_results.py   (a second)
"""

import json
from pathlib import Path

import matplotlib.pyplot as plt
from rwsite.claims import claim, value
from rwsite.tables import table

ROOT = Path(__file__).resolve().parents[2]
RESULT = "benchmarks/results/tokenizers-cpu-2026-12-04.json"

# --8<-- [start:table]
r = json.loads((ROOT / RESULT).read_text())
print(f"{r['device']}, {r['date']}, commit {r['commit']}")
cpt = {int(v): c for v, c in r["chars_per_token"].items()}
print("characters per token on the validation text:",
      ", ".join(f"{v}: {c:.2f}" for v, c in cpt.items()))
rows = [[m["tokenizer"], f"{m['iters']:,}", f"{m['train_flops'] / 1e12:.3f}",
         f"{m['val_nats_per_token']:.3f}", f"{m['val_chars'] / m['val_tokens']:.2f}",
         f"{m['val_bits_per_char']:.3f}"] for m in r["models"]]
table(["tokenizer", "steps", "train TFLOPs", "nats/token", "chars/token", "bits/char"], rows,
      align="lrrrrr")
# --8<-- [end:table]

fig, ax = plt.subplots(figsize=(6.4, 3.2))
ax.plot(list(cpt), list(cpt.values()), "o-", color="C0")
ax.set_xscale("log", base=2)
ax.set_xticks(list(cpt), [str(v) for v in cpt])
ax.set_xlabel("BPE vocabulary (tokens)")
ax.set_ylabel("characters per token")
ax.set_title("Tiny Shakespeare's validation text under byte-level BPE")
plt.show()

models = {m["tokenizer"]: m for m in r["models"]}
for v in (256, 512, 4096):
    value(f"cpt_{v}", f"{cpt[v]:.2f}")
for name, m in models.items():
    key = name.replace("-", "_")
    value(f"bpc_{key}", f"{m['val_bits_per_char']:.3f}")
    value(f"iters_{key}", f"{m['iters']:,}")
    value(f"nats_{key}", f"{m['val_nats_per_token']:.2f}")
value("tok_date", r["date"])
bpc = {name: m["val_bits_per_char"] for name, m in models.items()}
claim(bpc["bpe-1024"] < bpc["bpe-512"] < bpc["char"],
      "at equal training FLOPs, each larger vocabulary scores fewer bits per character", **bpc)
flops = [m["train_flops"] for m in r["models"]]
claim(max(flops) / min(flops) - 1 < 1e-3, "the models' training FLOPs agree to 0.1% (whole steps)")
