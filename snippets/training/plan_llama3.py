"""The planner against a run that happened: Llama 3 405B on 8,192 and 16,384 H100s.

Meta's paper (arXiv 2407.21783, section 3.3, Table 4) gives the split (TP 8, PP 16, DP 64 or
128), the batch (2,048 sequences of 8,192 tokens) and the achieved 430 and 400 TFLOP/s per GPU.
The planner estimates the same split from the published specs alone.

Run on its own: python snippets/training/plan_llama3.py   (a few seconds)
"""

from rawweights_jax.analysis.accelerators import accelerator
from rawweights_jax.analysis.planner import Split, check_split, estimate, plan
from rawweights_jax.analysis.published_runs import LLAMA3_RUNS, llama3_405b
from rwsite.claims import claim, value
from rwsite.tables import table

GB = 1e9
# --8<-- [start:compare]
cfg = llama3_405b()
rows, ideal = [], {}
for run in LLAMA3_RUNS:
    h100 = accelerator(run.gpu)
    for sharding, recompute in (("optimizer", False), ("full", False), ("optimizer", True)):
        split = Split(run.dp, run.tp, run.pp, sharding, recompute)
        check_split(cfg, split, run.gpus, run.sequences, even_stages=False)   # 126 layers / 16
        est = estimate(cfg, h100, split, run.sequences, run.context)
        ideal[run.gpus, sharding, recompute] = est
        rows.append([run.gpus, split.label.split(" x ")[0].split(" ")[0]
                     + (" +recompute" if recompute else ""),
                     f"{est['memory']['total'] / GB:.0f} GB", "yes" if est["fits"] else "no",
                     f"{est['time']['bubble']:.0%}", f"{est['mfu']:.0%}", f"{run.mfu:.0%}"])
table(["GPUs", "DP kind", "memory/GPU", "fits 80 GB", "bubble", "MFU (ideal)", "MFU (Meta)"], rows)
# --8<-- [end:compare]

small, big = LLAMA3_RUNS
a, b = ideal[small.gpus, "optimizer", False], ideal[big.gpus, "optimizer", False]
value("l3_mem_zero1", f"{a['memory']['total'] / GB:.0f}")
value("l3_act_zero1", f"{(a['memory']['activations'] + a['memory']['logits']) / GB:.0f}")
value("l3_ideal_8k", f"{a['mfu']:.0%}")
value("l3_ideal_16k", f"{b['mfu']:.0%}")
value("l3_meta_8k", f"{small.mfu:.0%}")
value("l3_meta_16k", f"{big.mfu:.0%}")
value("l3_bubble_8k", f"{a['time']['bubble']:.0%}")
value("l3_bubble_16k", f"{b['time']['bubble']:.0%}")
value("l3_eff_8k", f"{small.mfu / a['mfu']:.0%}")
value("l3_eff_16k", f"{big.mfu / b['mfu']:.0%}")
value("l3_drop_meta", f"{(1 - big.mfu / small.mfu):.0%}")
value("l3_drop_ideal", f"{(1 - b['mfu'] / a['mfu']):.0%}")
claim(not a["fits"], "with ZeRO-1 and every activation kept, the published split does not fit")
claim(b["mfu"] < a["mfu"] and big.mfu < small.mfu,
      "both the planner and Meta's numbers lose MFU going from 8,192 to 16,384 GPUs")
claim(1 - b["mfu"] / a["mfu"] > 1 - big.mfu / small.mfu, "the planner overstates the drop")
fsdp = ideal[small.gpus, "full", False]
claim(fsdp["fits"] and fsdp["time"]["dp_exposed"] > 0, "FSDP fits but its traffic is not hidden")
