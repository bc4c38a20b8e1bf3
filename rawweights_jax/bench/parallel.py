"""`rawweights bench parallel --devices 8`: every way of spreading a training step over devices,
each held to one device's losses, with its traffic read from the compiled program beside the
formula, and its memory per device.

Pipelines run 4 stages (one layer each) over 8 microbatches of 2 rows; their bubble is counted
from the schedule's idle ticks, beside (p - 1) / (m + p - 1).

The model is nanoGPT's CPU Shakespeare model (4 layers, width 128) with 8 heads of 16 instead
of 4 of 32, so that 8 devices can split the heads. Each strategy trains 3 AdamW steps from the
same weights on the same 3 batches of tiny Shakespeare as one device does; `max_loss_diff` is
the largest difference of the 3 losses. The devices are the CPU's, simulated: XLA makes N
devices of one host (XLA_FLAGS=--xla_force_host_platform_device_count=N), so the bytes are
the real program's but the times would not be a cluster's, and none are reported.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from rawweights_jax.analysis.comm import comm_bytes
from rawweights_jax.bench.common import environment, print_table
from rawweights_jax.config import ModelConfig, ParallelConfig, TrainConfig, preset
from rawweights_jax.data.batches import sample_batch
from rawweights_jax.data.shakespeare import load_shakespeare
from rawweights_jax.parallel.schedule import ideal_bubble, schedule
from rawweights_jax.train.optimizer import make_optimizer
from rawweights_jax.train.strategies import train_steps

BATCH, STEPS = 16, 3


def bench_model() -> ModelConfig:
    """The CPU preset's model with 8 heads of width 16 (8 devices split heads, not halves of one)."""
    return preset("shakespeare-char-cpu").model.replace(n_heads=8)


def strategies(n: int) -> dict[str, ParallelConfig]:
    """The strategies measured on `n` devices (a power of two, at least 4), by name. `ep` trains
    the mixture-of-experts preset (moe-char-cpu: 8 experts, 2 per token), the others
    `bench_model()`."""
    half = n // 2
    return {"dp": ParallelConfig(data=n), "dp-int8": ParallelConfig(data=n, compress="int8"),
            "fsdp": ParallelConfig(data=n, fsdp=True),
            "tp": ParallelConfig(model=n), "dp+tp": ParallelConfig(data=half, model=2),
            "fsdp+tp": ParallelConfig(data=half, model=2, fsdp=True),
            "pp-gpipe": ParallelConfig(stages=4, microbatches=8, schedule="gpipe"),
            "pp-1f1b": ParallelConfig(stages=4, microbatches=8, schedule="1f1b"),
            "ep": ParallelConfig(experts=n)}


def bench_parallel(devices: int = 8, quiet: bool = False) -> dict:
    """Measure every strategy on `devices` devices against one device (see the module's doc)."""
    if devices < 4 or devices & (devices - 1):
        raise ValueError(f"--devices {devices}: expected a power of two, at least 4")
    if len(jax.devices()) < devices:
        raise ValueError(f"--devices {devices}: JAX started with {len(jax.devices())} devices; set "
                         f"XLA_FLAGS=--xla_force_host_platform_device_count={devices} before it starts")
    cfg = bench_model()
    data_Z = jnp.asarray(load_shakespeare().train_Z)
    batches = [sample_batch(data_Z, jax.random.key(i), BATCH, cfg.context_len) for i in range(STEPS)]
    optimizer = make_optimizer(TrainConfig(batch_size=BATCH, warmup_iters=0, lr=3e-3))
    models = {"bench_model": cfg, "moe-char-cpu": preset("moe-char-cpu").model}
    refs = {k: train_steps(c, ParallelConfig(), batches, optimizer) for k, c in models.items()}
    rows = []
    for name, par in strategies(devices).items():
        model = "moe-char-cpu" if par.experts > 1 else "bench_model"
        cfg, ref = models[model], refs[model]
        got = train_steps(cfg, par, batches, optimizer)
        hlo, formula = sum(got["comm"].values()), sum(comm_bytes(cfg, par, BATCH).values())
        rows.append({"name": name, "model": model,
                     "devices": par.devices, "mesh": _mesh_text(par),
                     "max_loss_diff": float(np.max(np.abs(np.subtract(got["losses"], ref["losses"])))),
                     "comm_bytes_hlo": hlo, "comm_bytes_formula": formula,
                     "comm_hlo_over_formula": round(hlo / formula, 4) if formula else None,
                     "comm_bytes_hlo_by_kind": {k: v for k, v in got["comm"].items() if v},
                     "memory_bytes_per_device": got["memory"],
                     "temp_bytes_per_device": got["temp"]})
        if par.stages > 1:
            sched = schedule(par.schedule, par.stages, par.microbatches)
            rows[-1].update(microbatches=par.microbatches, bubble_fraction=sched.bubble_fraction,
                            bubble_fraction_formula=ideal_bubble(par.stages, par.microbatches),
                            peak_microbatches_in_flight=sched.peak_in_flight)
        if not quiet:
            print("  " + ", ".join(f"{k}={v}" for k, v in rows[-1].items()), flush=True)
    out = {"benchmark": "parallel", "models": {k: c.to_dict() for k, c in models.items()},
           "batch": BATCH, "steps": STEPS,
           "one_device_losses": {k: r["losses"] for k, r in refs.items()},
           "one_device_memory_bytes": {k: r["memory"] for k, r in refs.items()},
           "strategies": rows, **environment()}
    if not quiet:
        print_table({k: v for k, v in out.items() if k not in ("strategies", "models")})
    return out


def _mesh_text(par: ParallelConfig) -> str:
    axes = {"data": par.data, "model": par.model, "stages": par.stages, "experts": par.experts}
    return " x ".join(f"{k}={v}" for k, v in axes.items() if v > 1) or "one device"
