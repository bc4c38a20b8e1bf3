"""The parallelism planner: which split of a training run over N devices fits, and how fast it runs.

Four ways to split one training step, and what each costs:
- **data parallel (dp)**: every replica runs its share of the batch; gradients are averaged once
  per step (an all-reduce). Sharding the optimizer state over the replicas (ZeRO-1) or everything
  (FSDP, ZeRO-3) saves memory for more traffic: FSDP gathers each stage's weights for every
  micro-batch's forward and backward pass and scatters its gradients back.
- **tensor parallel (tp)**: every matrix is split over tp devices; each layer all-reduces its
  activations twice forward and twice backward, on the critical path, so it stays inside a node.
- **pipeline parallel (pp)**: consecutive layers on different devices; activations hop once per
  stage and micro-batch, and the pipeline idles for (p - 1) / (m + p - 1) of the step (its bubble).
- **recomputation**: keep only each layer's input and run the forward pass again in the backward.

Assumptions (a model, not a simulator; the article says where it is crude):
- Adam in mixed precision: 2 bytes of BF16 weights, 2 of gradients, 12 of FP32 master weights and
  two moments per parameter (the ZeRO paper's accounting, arXiv 1910.02054);
- activations from counts.train_activation_bytes, divided by tp (sequence parallelism), kept for
  min(pp, m) micro-batches in flight (a 1F1B schedule); FP32 logits of one micro-batch on top;
- compute: the training FLOPs of counts.flops_per_token (plus one forward pass under recompute)
  at `efficiency` times the peak, the busiest pipeline stage setting the pace;
- links: ring collectives, 2 (n - 1) / n of the data per all-reduce; tp on the fast link inside a
  node; pp and dp on it only if the whole job fits in one node, else on the inter-node network;
- overlap: dp / FSDP traffic hides behind compute (only what exceeds it is exposed); tp and pp
  traffic is exposed; latencies and kernel launch costs are ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rawweights_jax.analysis.accelerators import Accelerator
from rawweights_jax.analysis.counts import flops_per_token, param_counts, train_activation_bytes
from rawweights_jax.config import ModelConfig

BYTES_PER_PARAM = {"weights": 2, "grads": 2, "optimizer": 12}
"""Mixed-precision Adam: BF16 weights and gradients; FP32 master weights, momentum, variance."""
SHARDINGS = ("none", "optimizer", "full")
"""What the data-parallel replicas shard: nothing (plain DP), the optimizer state (ZeRO-1), all (FSDP)."""


@dataclass(frozen=True)
class Split:
    """How one step is split: dp x tp x pp devices, what dp shards, recomputation, micro-batch."""

    dp: int
    tp: int
    pp: int
    sharding: str = "none"
    recompute: bool = False
    micro_batch: int = 1
    """Sequences per micro-batch (per data-parallel replica)."""

    def __post_init__(self):
        for name in ("dp", "tp", "pp", "micro_batch"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r}: expected a positive integer")
        if self.sharding not in SHARDINGS:
            raise ValueError(f"sharding={self.sharding!r}: expected one of {', '.join(SHARDINGS)}")

    @property
    def gpus(self) -> int:
        return self.dp * self.tp * self.pp

    @property
    def label(self) -> str:
        dp = {"none": "DP", "optimizer": "DP+ZeRO1", "full": "FSDP"}[self.sharding]
        return f"{dp} {self.dp} x TP {self.tp} x PP {self.pp}" + (" +recompute" if self.recompute else "")


# --8<-- [start:check]
def split_problem(cfg: ModelConfig, split: Split, gpus: int, batch: int,
                  even_stages: bool = True) -> tuple[str, str] | None:
    """(what, message) of the first reason `split` cannot run `batch` sequences, or None."""
    if gpus % (split.tp * split.pp):
        return "gpus", f"{gpus} devices are not divisible by tp x pp = {split.tp * split.pp}"
    if split.gpus != gpus:
        return "gpus", f"dp x tp x pp = {split.gpus}, not the {gpus} devices asked for"
    if cfg.n_heads % split.tp:
        return "heads", f"{cfg.n_heads} attention heads are not divisible by tp={split.tp}"
    if split.pp > cfg.n_layers:
        return "layers", f"pp={split.pp} stages for {cfg.n_layers} layers: some would be empty"
    if even_stages and cfg.n_layers % split.pp:
        return "layers", f"{cfg.n_layers} layers are not divisible by pp={split.pp}"
    if batch % (split.dp * split.micro_batch):
        return "batch", (f"a batch of {batch} sequences is not divisible by dp x micro-batch = "
                         f"{split.dp * split.micro_batch}")
    if split.sharding != "none" and split.dp == 1:
        return "sharding", f"sharding={split.sharding!r} needs dp > 1"
    return None


def check_split(cfg: ModelConfig, split: Split, gpus: int, batch: int,
                even_stages: bool = True) -> None:
    """Raise ValueError naming the first reason `split` cannot run (see `split_problem`)."""
    problem = split_problem(cfg, split, gpus, batch, even_stages)
    if problem:
        raise ValueError(problem[1])
# --8<-- [end:check]


def micro_batches(split: Split, batch: int) -> int:
    """Micro-batches each pipeline runs per step."""
    return batch // (split.dp * split.micro_batch)


# --8<-- [start:memory]
def memory(cfg: ModelConfig, split: Split, batch: int, context: int) -> dict[str, float]:
    """Bytes on the busiest device: its stage's training state, activations, logits."""
    counts = param_counts(cfg)
    layers = math.ceil(cfg.n_layers / split.pp)                 # the busiest stage's layers
    per_layer = counts["non_embedding"] / cfg.n_layers
    ends = counts["embedding"] + counts["lm_head"]               # both on one stage without pp,
    if split.pp > 1:                                             # else the heavier end's stage
        ends = max(counts["embedding"], counts["lm_head"])
    # --8<-- [start:state]
    params = (layers * per_layer + ends) / split.tp
    shards = {"none": {}, "optimizer": {"optimizer"}, "full": {"weights", "grads", "optimizer"}}
    state = {part: params * size / (split.dp if part in shards[split.sharding] else 1)
             for part, size in BYTES_PER_PARAM.items()}
    # --8<-- [end:state]
    if split.sharding == "full":    # FSDP gathers one layer at a time, and prefetches the next
        state["weights"] += 2 * per_layer / split.tp * BYTES_PER_PARAM["weights"]
    tokens = split.micro_batch * context
    in_flight = min(split.pp, micro_batches(split, batch))
    kept = train_activation_bytes(cfg, split.recompute) * tokens * layers * in_flight / split.tp
    if split.recompute:             # the layer being rebuilt holds its full activations
        kept += train_activation_bytes(cfg) * tokens / split.tp
    logits = tokens * cfg.vocab_size * 4 / split.tp
    out = {**state, "activations": kept, "logits": logits}
    return {**out, "total": sum(out.values())}
# --8<-- [end:memory]


# --8<-- [start:time]
def step_time(cfg: ModelConfig, acc: Accelerator, split: Split, batch: int, context: int,
              efficiency: float = 1.0) -> dict[str, float]:
    """Seconds of one step: compute (with the bubble), tp, pp and exposed dp communication."""
    if not 0 < efficiency <= 1:
        raise ValueError(f"efficiency={efficiency}: expected a fraction of the peak in (0, 1]")
    counts = param_counts(cfg)
    m = micro_batches(split, batch)
    layers = math.ceil(cfg.n_layers / split.pp)
    model_flops = flops_per_token(cfg, context)["train"] * batch * context
    run_flops = model_flops * (4 / 3 if split.recompute else 1)   # recompute: one more forward
    imbalance = layers * split.pp / cfg.n_layers                  # the busiest stage sets the pace
    compute = run_flops / split.gpus / (acc.peak_flops * efficiency) * imbalance
    bubble = (split.pp - 1) / (m + split.pp - 1)
    compute_with_bubble = compute / (1 - bubble)

    # --8<-- [start:links]
    one_node = split.gpus <= acc.node_size
    fast, slow = acc.link_bandwidth, acc.inter_node_bandwidth
    ring = lambda n: 2 * (n - 1) / n                              # all-reduce, per byte of data
    x_bytes = split.micro_batch * context * cfg.d_model * 2       # one micro-batch's activations
    tp_calls = layers * m * (6 if split.recompute else 4)        # 2 forward (+2 again), 2 backward
    tp = tp_calls * ring(split.tp) * x_bytes / (fast if split.tp <= acc.node_size else slow)
    pp_link = fast if split.tp * split.pp <= acc.node_size else slow   # tp inside, then pp
    pp = 0.0 if split.pp == 1 else 2 * m * x_bytes / split.tp / pp_link
    per_layer = counts["non_embedding"] / cfg.n_layers
    stage_bytes = (layers * per_layer + max(counts["embedding"], counts["lm_head"])) / split.tp * 2
    if split.sharding == "full":    # gather forward, gather backward, scatter grads: per micro-batch
        dp_bytes = 3 * m * (split.dp - 1) / split.dp * stage_bytes
    else:                           # all-reduce (or reduce-scatter + all-gather) once per step
        dp_bytes = ring(split.dp) * stage_bytes if split.dp > 1 else 0.0
    dp = dp_bytes / (fast if one_node else slow)
    # --8<-- [end:links]
    exposed = max(0.0, dp - compute_with_bubble)
    return {"compute": compute, "bubble": bubble, "compute_with_bubble": compute_with_bubble,
            "tp": tp, "pp": pp, "dp": dp, "dp_exposed": exposed,
            "step": compute_with_bubble + tp + pp + exposed, "model_flops": model_flops}
# --8<-- [end:time]


def estimate(cfg: ModelConfig, acc: Accelerator, split: Split, batch: int, context: int,
             efficiency: float = 1.0) -> dict:
    """Memory, fit, time and MFU of one split (checked first; see `check_split`)."""
    mem = memory(cfg, split, batch, context)
    time = step_time(cfg, acc, split, batch, context, efficiency)
    mfu = time["model_flops"] / (split.gpus * acc.peak_flops * time["step"])
    return {"split": split.label, "dp": split.dp, "tp": split.tp, "pp": split.pp,
            "sharding": split.sharding, "recompute": split.recompute,
            "micro_batch": split.micro_batch, "micro_batches": micro_batches(split, batch),
            "memory": mem, "fits": mem["total"] <= acc.hbm_bytes, "time": time, "mfu": mfu,
            "tokens_per_s": batch * context / time["step"]}


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


# --8<-- [start:plan]
def plan(cfg: ModelConfig, acc: Accelerator, gpus: int, batch: int, context: int,
         micro_batch: int = 1, efficiency: float = 1.0, tp: int | None = None,
         pp: int | None = None, even_stages: bool = True) -> dict:
    """Every valid split of `gpus` devices (tp within a node unless fixed), ranked by step time.
    With `even_stages=False`, pp need not divide the layers (the busiest stage holds the most).

    Returns {"fits": estimates that fit in memory, fastest first, "too_big": the rest, smallest
    first, "invalid": how many splits were skipped and why}. A fixed `tp` or `pp` that cannot
    work raises ValueError naming why.
    """
    for name, value in (("gpus", gpus), ("batch", batch), ("context", context)):
        if value < 1:
            raise ValueError(f"{name}={value}: expected a positive integer")
    if tp is not None or pp is not None:          # the caller's choice must itself be possible
        t, p = tp or 1, pp or 1
        if gpus % (t * p):
            raise ValueError(f"{gpus} devices are not divisible by tp x pp = {t * p}")
        check_split(cfg, Split(gpus // (t * p), t, p), gpus, gpus // (t * p) * micro_batch,
                    even_stages)
    fits, too_big, invalid = [], [], {}
    for t in [tp] if tp else [d for d in divisors(gpus) if d <= acc.node_size]:
        for p in [pp] if pp else divisors(gpus // t):
            d = gpus // (t * p)
            for sharding in SHARDINGS if d > 1 else ("none",):
                for recompute in (False, True):
                    split = Split(d, t, p, sharding, recompute, micro_batch)
                    problem = split_problem(cfg, split, gpus, batch, even_stages)
                    if problem:
                        invalid[problem[0]] = invalid.get(problem[0], 0) + 1
                        continue
                    row = estimate(cfg, acc, split, batch, context, efficiency)
                    (fits if row["fits"] else too_big).append(row)
    fits.sort(key=lambda r: (r["time"]["step"], r["memory"]["total"]))
    too_big.sort(key=lambda r: r["memory"]["total"])
    return {"fits": fits, "too_big": too_big, "invalid": invalid}
# --8<-- [end:plan]
