"""Which splits of Llama 3.1 70B's training fit on 64 H100s, and which is fastest.

Arithmetic only (rawweights_jax/analysis/planner.py): no model is built, nothing is trained.

Run on its own: python snippets/training/plan_split.py   (a few seconds)
"""

from rawweights_jax.analysis.accelerators import accelerator
from rawweights_jax.analysis.planner import Split, estimate, plan
from rawweights_jax.analysis.zoo import zoo_model
from rwsite.claims import claim, value
from rwsite.tables import table

GiB = 2**30
# --8<-- [start:plan]
cfg = zoo_model("llama-3.1-70b").config
h100 = accelerator("h100-sxm")
BATCH, CONTEXT = 1024, 8192                  # 8.4M tokens per step
result = plan(cfg, h100, gpus=64, batch=BATCH, context=CONTEXT)
table(["split", "micro-batches", "memory/GPU", "bubble", "step (s)", "MFU"],
      [[r["split"], r["micro_batches"], f"{r['memory']['total'] / GiB:.0f} GiB",
        f"{r['time']['bubble']:.0%}", f"{r['time']['step']:.1f}", f"{r['mfu']:.0%}"]
       for r in result["fits"][:6]])
# --8<-- [end:plan]
best = result["fits"][0]
n_valid = len(result["fits"]) + len(result["too_big"])
plain = estimate(cfg, h100, Split(64, 1, 1), BATCH, CONTEXT)
tp8 = estimate(cfg, h100, Split(8, 8, 1), BATCH, CONTEXT)
value("best_split", best["split"])
value("best_mfu", f"{best['mfu']:.0%}")
value("n_fit", str(len(result["fits"])))
value("n_valid", str(n_valid))
value("plain_dp_gib", f"{plain['memory']['total'] / GiB:.0f}")
value("plain_dp_state_gib", f"{(plain['memory']['total'] - plain['memory']['activations'] - plain['memory']['logits']) / GiB:.0f}")
claim(best["tp"] == 4 and best["pp"] > 1, "TP 4 with a pipeline is the fastest split")
claim(not plain["fits"], "plain data parallelism does not fit Llama 3.1 70B on an H100")
claim(abs(plain["memory"]["weights"] / tp8["memory"]["weights"] - 8) < 1e-9,
      "TP 8 holds exactly an eighth of the weights per GPU")
