"""Any parallel strategy, one call: build the step `ParallelConfig` asks for, place the state
where it lives, train a few steps on given batches, and report what the comparison needs.

The four ways the steps are written (train/spread.py: shardings for dp, fsdp, tp;
train/pipeline.py: a tick table under shard_map; train/spread.py's expert step: all-to-all
inside shard_map; train/compress.py: int8 gradients) all start from the weights
`init_model(cfg)` draws and take `(params, opt_state, x_BT, y_BT)`, so the losses of any two
are comparable number for number.
"""

from __future__ import annotations

import jax
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh

from rawweights_jax.config import ModelConfig, ParallelConfig, Runtime
from rawweights_jax.model.gpt import init_model
from rawweights_jax.parallel.hlo import collective_bytes
from rawweights_jax.parallel.mesh import DATA, EXPERT
from rawweights_jax.train import pipeline
from rawweights_jax.train.compress import make_int8_step
from rawweights_jax.train.spread import (bytes_per_device, make_expert_step, make_step,
                                         place_state, spread_mesh)


def build(cfg: ModelConfig, par: ParallelConfig, optimizer: optax.GradientTransformation,
          batch: int):
    """(jitted step, params, opt_state), the state placed on its devices."""
    if par.stages > 1:
        mesh = pipeline.stage_mesh(par)
        params = pipeline.pipeline_params(cfg)
        params, opt_state = (jax.device_put(t, pipeline.state_shardings(t, mesh))
                             for t in (params, optimizer.init(params)))
        return pipeline.make_pipeline_step(cfg, optimizer, params, opt_state, mesh, par, batch), \
            params, opt_state
    if par.experts > 1:
        mesh = Mesh(np.array(_devices(par.experts)), (EXPERT,))
        graphdef, params = nnx.split(init_model(cfg, runtime=Runtime(moe_dispatch="all-to-all")),
                                     nnx.Param)
        opt_state = optimizer.init(params)
        step, (p_sh, o_sh) = make_expert_step(graphdef, optimizer, params, opt_state, mesh)
        return step, jax.device_put(params, p_sh), jax.device_put(opt_state, o_sh)
    graphdef, params = nnx.split(init_model(cfg), nnx.Param)
    if par.compress == "int8":
        mesh = Mesh(np.array(_devices(par.data)), (DATA,))
        step = make_int8_step(graphdef, optimizer, mesh)
        params, opt_state = place_state(params, optimizer.init(params), spread_mesh(par), par)
        return step, params, opt_state
    mesh = spread_mesh(par)
    params, opt_state = place_state(params, optimizer.init(params), mesh, par)
    return make_step(graphdef, optimizer, params, opt_state, mesh, par), params, opt_state


def train_steps(cfg: ModelConfig, par: ParallelConfig, batches, optimizer) -> dict:
    """Train on `batches` [(x_BT, y_BT), ...] under `par`: the losses, the compiled step's
    collective bytes by kind (parallel/hlo.py), the bytes of weights and optimizer state on
    one device, and the compiled step's temporary bytes per device."""
    step, params, opt_state = build(cfg, par, optimizer, batches[0][0].shape[0])
    compiled = step.lower(params, opt_state, *batches[0]).compile()
    memory = bytes_per_device((params, opt_state))
    losses = []
    for x_BT, y_BT in batches:
        params, opt_state, loss = step(params, opt_state, x_BT, y_BT)
        losses.append(float(loss))
    return {"losses": losses, "comm": collective_bytes(compiled.as_text()), "memory": memory,
            "temp": compiled.memory_analysis().temp_size_in_bytes}


def _devices(n: int):
    if len(jax.devices()) < n:
        raise ValueError(f"{n} devices needed, only {len(jax.devices())} are available "
                         "(on a CPU: XLA_FLAGS=--xla_force_host_platform_device_count=N)")
    return jax.devices()[:n]
