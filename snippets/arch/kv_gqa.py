"""What sharing key/value heads costs in loss: one tiny Llama trained with 4, 2 and 1 KV heads.

Same shape, seed and batches; only `n_kv_heads` changes (4 query heads: MHA, GQA, MQA). A
second MHA run with another seed shows how much the loss moves for no reason at all. The
runs are computed once per content hash (`rwsite.shared`) and reused by later builds.

Run on its own: python snippets/arch/kv_gqa.py   (trains first if needed, about 40 s)
"""

import json
from pathlib import Path

from rwsite.claims import claim, value
from rwsite.shared import shared

from rawweights_jax.analysis.counts import kv_bytes_per_token_layer, param_counts
from rawweights_jax.config import preset
from rawweights_jax.data.shakespeare import SHAKESPEARE_SHA256

# --8<-- [start:runs]
BASE = preset("llama-char-cpu").replace(    # shrunk: 2 layers of width 64, 4 heads of 16
    n_layers=2, d_model=64, n_heads=4, d_ff=176, batch_size=8, max_iters=400,
    warmup_iters=40, lr=3e-3, min_lr=3e-4, eval_interval=400, eval_iters=50)
RUNS = {"MHA (4 KV heads)": dict(n_kv_heads=4),
        "GQA (2 KV heads)": dict(n_kv_heads=2),
        "MQA (1 KV head)": dict(n_kv_heads=1),
        "MHA, other seed": dict(n_kv_heads=4, seed=7)}
# --8<-- [end:runs]


def build(out: Path) -> None:
    from rawweights_jax.data.shakespeare import load_shakespeare
    from rawweights_jax.train.loop import train

    data = load_shakespeare()
    results = {name: train(BASE.replace(**change), data, progress=None).history["eval"][-1]
               for name, change in RUNS.items()}
    (out / "evals.json").write_text(json.dumps(results))


folder = shared("kv-gqa", build=build,
                key_parts=[BASE.to_json(), json.dumps(RUNS, sort_keys=True), SHAKESPEARE_SHA256])
evals = json.loads((folder / "evals.json").read_text())

# --8<-- [start:table]
print(f"{BASE.train.max_iters} steps each; val loss over {BASE.train.eval_iters} batches; cache in float32")
print(f"{'run':18} {'params':>7} {'val loss':>9} {'cache bytes/token':>18}")
for name, change in RUNS.items():
    cfg = BASE.replace(**change).model
    per_token = cfg.n_layers * kv_bytes_per_token_layer(cfg, "float32")
    print(f"{name:18} {param_counts(cfg)['total']:>7,} {evals[name]['val_loss']:>9.4f} "
          f"{per_token:>18,.0f}")
# --8<-- [end:table]

shift = {name: abs(evals[name]["val_loss"] - evals["MHA (4 KV heads)"]["val_loss"]) for name in RUNS}
value("gqa_shift", f"{shift['GQA (2 KV heads)']:.3f}")
value("mqa_shift", f"{shift['MQA (1 KV head)']:.3f}")
value("seed_shift", f"{shift['MHA, other seed']:.3f}")
claim(max(shift["GQA (2 KV heads)"], shift["MQA (1 KV head)"]) < 2 * shift["MHA, other seed"],
      "sharing KV heads moved the loss by less than twice what changing the seed did", **shift)
