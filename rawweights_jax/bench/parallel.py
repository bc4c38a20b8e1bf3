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
from flax import nnx

from rawweights_jax.analysis.comm import comm_bytes
from rawweights_jax.bench.common import environment, print_table
from rawweights_jax.config import ModelConfig, ParallelConfig, TrainConfig, preset
from rawweights_jax.data.batches import sample_batch
from rawweights_jax.data.shakespeare import load_shakespeare
from rawweights_jax.model.gpt import init_model
from rawweights_jax.parallel.hlo import collective_bytes
from rawweights_jax.parallel.schedule import ideal_bubble, schedule
from rawweights_jax.train import pipeline
from rawweights_jax.train.optimizer import make_optimizer
from rawweights_jax.train.spread import bytes_per_device, make_step, place_state, spread_mesh

BATCH, STEPS = 16, 3


def bench_model() -> ModelConfig:
    """The CPU preset's model with 8 heads of width 16 (8 devices split heads, not halves of one)."""
    return preset("shakespeare-char-cpu").model.replace(n_heads=8)


def strategies(n: int) -> dict[str, ParallelConfig]:
    """The strategies measured on `n` devices (a power of two, at least 4), by name."""
    half = n // 2
    return {"dp": ParallelConfig(data=n), "fsdp": ParallelConfig(data=n, fsdp=True),
            "tp": ParallelConfig(model=n), "dp+tp": ParallelConfig(data=half, model=2),
            "fsdp+tp": ParallelConfig(data=half, model=2, fsdp=True),
            "pp-gpipe": ParallelConfig(stages=4, microbatches=8, schedule="gpipe"),
            "pp-1f1b": ParallelConfig(stages=4, microbatches=8, schedule="1f1b")}


def train_steps(cfg: ModelConfig, par: ParallelConfig, batches, optimizer) -> dict:
    """STEPS steps of `par`: losses, the compiled step's collective bytes, memory per device."""
    if par.stages > 1:
        mesh = pipeline.stage_mesh(par)
        params = pipeline.pipeline_params(cfg)
        params, opt_state = (jax.device_put(t, pipeline.state_shardings(t, mesh))
                             for t in (params, optimizer.init(params)))
        step = pipeline.make_pipeline_step(cfg, optimizer, params, opt_state, mesh, par,
                                           batches[0][0].shape[0])
    else:
        graphdef, params = nnx.split(init_model(cfg), nnx.Param)
        mesh = spread_mesh(par)
        params, opt_state = place_state(params, optimizer.init(params), mesh, par)
        step = make_step(graphdef, optimizer, params, opt_state, mesh, par)
    compiled = step.lower(params, opt_state, *batches[0]).compile()
    memory = bytes_per_device((params, opt_state))
    losses = []
    for x_BT, y_BT in batches:
        params, opt_state, loss = step(params, opt_state, x_BT, y_BT)
        losses.append(float(loss))
    return {"losses": losses, "comm": collective_bytes(compiled.as_text()), "memory": memory,
            "temp": compiled.memory_analysis().temp_size_in_bytes}


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
    ref = train_steps(cfg, ParallelConfig(), batches, optimizer)
    rows = []
    for name, par in strategies(devices).items():
        got = train_steps(cfg, par, batches, optimizer)
        hlo, formula = sum(got["comm"].values()), sum(comm_bytes(cfg, par, BATCH).values())
        rows.append({"name": name, "devices": par.devices, "mesh": _mesh_text(par),
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
    out = {"benchmark": "parallel", "model": cfg.to_dict(), "batch": BATCH, "steps": STEPS,
           "one_device_losses": ref["losses"], "one_device_memory_bytes": ref["memory"],
           "strategies": rows, **environment()}
    if not quiet:
        print_table({k: v for k, v in out.items() if k not in ("strategies", "model")})
    return out


def _mesh_text(par: ParallelConfig) -> str:
    axes = {"data": par.data, "model": par.model, "stages": par.stages}
    return " x ".join(f"{k}={v}" for k, v in axes.items() if v > 1) or "one device"
