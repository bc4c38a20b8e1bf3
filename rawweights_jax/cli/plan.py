"""`rawweights plan`: the splits of a training run over N accelerators that fit, fastest first.

    rawweights plan llama-3.1-70b --gpus 64 --gpu h100-sxm --batch 512 --context 8192
    rawweights plan path/to/config.json --gpus 1024 --gpu tpu-v5p --tp 4 --json

Arithmetic only (analysis/planner.py), no JAX: memory per device, step time and MFU of every
valid data x tensor x pipeline split, with or without sharding and recomputation. A bad config,
an unknown accelerator or an impossible fixed split is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json

from rawweights_jax.analysis.accelerators import accelerator, accelerator_names
from rawweights_jax.analysis.inspector import human, resolve
from rawweights_jax.analysis.planner import BYTES_PER_PARAM, plan


def add_parser(sub, positive_int) -> None:
    p = sub.add_parser("plan", help="memory and step time of data/FSDP/tensor/pipeline splits")
    p.add_argument("config", metavar="CONFIG",
                   help="a config.json (or its folder), a shipped model name, or a preset")
    p.add_argument("--gpus", required=True, type=positive_int, help="devices in the job")
    p.add_argument("--gpu", required=True, metavar="NAME",
                   help="accelerator: " + ", ".join(accelerator_names()))
    p.add_argument("--batch", type=positive_int, default=1024, help="sequences per step (1024)")
    p.add_argument("--context", type=positive_int, default=8192, help="tokens per sequence (8192)")
    p.add_argument("--micro-batch", type=positive_int, default=1,
                   help="sequences per micro-batch and replica (1)")
    p.add_argument("--tp", type=positive_int, help="fix the tensor-parallel degree")
    p.add_argument("--pp", type=positive_int, help="fix the pipeline-parallel degree")
    p.add_argument("--uneven-stages", action="store_true",
                   help="allow pp that does not divide the layers (the busiest stage sets the pace)")
    p.add_argument("--efficiency", type=float, default=1.0,
                   help="fraction of the peak the matmuls reach (1.0: ideal, an upper bound)")
    p.add_argument("--inter-node-gbit", type=float,
                   help="network Gb/s per device between nodes (default: the table's)")
    p.add_argument("--top", type=positive_int, default=10, help="rows to print (10)")
    p.add_argument("--json", action="store_true", help="one JSON object with every split")


COLUMNS = ("split", "micro-batches", "memory/device", "compute s", "bubble", "TP s", "PP s",
           "DP exposed s", "step s", "MFU")


def _cells(row: dict) -> list[str]:
    t = row["time"]
    return [row["split"], str(row["micro_batches"]), human(row["memory"]["total"], "B"),
            f"{t['compute']:.3g}", f"{t['bubble']:.0%}", f"{t['tp']:.2g}", f"{t['pp']:.2g}",
            f"{t['dp_exposed']:.2g}", f"{t['step']:.3g}", f"{row['mfu']:.0%}"]


def table(rows: list[dict]) -> str:
    cells = [list(COLUMNS)] + [_cells(r) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> str:
    label, cfg = resolve(args.config)
    acc = accelerator(args.gpu)
    if args.inter_node_gbit is not None:
        acc = acc.with_inter_node(args.inter_node_gbit)
    result = plan(cfg, acc, args.gpus, args.batch, args.context, args.micro_batch,
                  args.efficiency, args.tp, args.pp, not args.uneven_stages)
    head = {"model": label, "gpu": acc.key, "gpus": args.gpus, "batch": args.batch,
            "context": args.context, "efficiency": args.efficiency,
            "hbm_bytes": acc.hbm_bytes, "bytes_per_param": BYTES_PER_PARAM}
    if args.json:
        return json.dumps({**head, **result})
    if not result["fits"] and not result["too_big"]:
        why = ", ".join(f"{n} by {k}" for k, n in result["invalid"].items())
        raise ValueError(f"no valid split of {args.gpus} devices for {label} "
                         f"with a batch of {args.batch} ({why or 'none tried'})")
    if not result["fits"]:
        least = result["too_big"][0]
        raise ValueError(f"no split of {label} fits {human(acc.hbm_bytes, 'B')} per {acc.name}: "
                         f"the smallest, {least['split']}, needs {human(least['memory']['total'], 'B')}")
    n = len(result["fits"])
    return (f"{label} on {args.gpus} x {acc.name}: batch {args.batch} x {args.context} tokens; "
            f"{n} of {n + len(result['too_big'])} valid splits fit in {human(acc.hbm_bytes, 'B')}\n\n"
            + table(result["fits"][:args.top])
            + f"\n\nEstimates at {args.efficiency:.0%} of the {acc.peak_flops / 1e12:g} TFLOP/s peak; "
            "Adam in mixed precision (16 bytes per parameter); TP on the in-node link, PP and DP "
            "across nodes when the job spans several; DP traffic overlaps compute, TP and PP do "
            "not. A model, not a measurement: see docs/training/choosing-a-split.md.")
