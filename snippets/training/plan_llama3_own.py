"""The planner's own split for Llama 3 405B on 8,192 H100s, at the efficiency Meta's run implies.

The efficiency is the published MFU of the 8,192-GPU row (arXiv 2407.21783, Table 4) over the
planner's ideal estimate for that same split, so the published split scores its measured MFU.

Run on its own: python snippets/training/plan_llama3_own.py   (a few seconds)
"""

from rawweights_jax.analysis.accelerators import accelerator
from rawweights_jax.analysis.planner import Split, estimate, plan
from rawweights_jax.analysis.published_runs import LLAMA3_RUNS, llama3_405b
from rwsite.claims import claim, value

GB = 1e9
cfg = llama3_405b()
small = LLAMA3_RUNS[0]
h100 = accelerator(small.gpu)
ideal = estimate(cfg, h100, Split(small.dp, small.tp, small.pp, "optimizer"), small.sequences,
                 small.context)
# --8<-- [start:own]
efficiency = small.mfu / ideal["mfu"]
own = plan(cfg, h100, small.gpus, small.sequences, small.context, efficiency=efficiency,
           even_stages=False)["fits"][:3]
for r in own:
    print(f"{r['split']:34} {r['memory']['total'] / GB:3.0f} GB  bubble {r['time']['bubble']:4.0%}  "
          f"step {r['time']['step']:5.1f} s  MFU {r['mfu']:.0%}")
# --8<-- [end:own]
value("l3_own_best", own[0]["split"])
value("l3_own_mfu", f"{own[0]['mfu']:.0%}")
claim(own[0]["pp"] > small.pp, "the planner prefers a deeper pipeline than Meta's")
claim(own[0]["mfu"] - small.mfu < 0.05, "the planner's own split is within 5 points of Meta's MFU")
