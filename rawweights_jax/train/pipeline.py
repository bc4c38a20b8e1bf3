"""Pipeline parallelism: each device runs a run of consecutive layers, microbatches flow through.

The layers' weights are stacked ([L, ...] per weight) and split over a `stage` axis, so stage s
holds layers s L/p to (s + 1) L/p. The embedding and output layer are small here and every
stage keeps a copy (stage 0 embeds, the last stage scores). One step is `jax.shard_map` over
the stages, run tick by tick from a schedule's table (parallel/schedule.py): at each tick each
stage runs its forward, its backward, or nothing (a `lax.switch` on its own row of the table),
then the activations move one stage on and the gradients one stage back (`ppermute`), at the
ticks where some stage has something to pass.

A forward keeps its input (the stage's inbox); the backward runs the stage again from that
input under `jax.vjp` (recomputing the activations instead of storing them) with the gradient
received from the next stage, and adds the weights' gradients to the stage's sums. At the end
the copies of the embedding and output layer sum their gradients across stages (one
all-reduce), and AdamW updates every stage's own layers where they are: the arithmetic is one
device's, which the tests check loss by loss.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from rawweights_jax.config import ModelConfig, ParallelConfig
from rawweights_jax.core.names import path_parts
from rawweights_jax.model.gpt import init_model
from rawweights_jax.nn.attention.mask import causal_mask
from rawweights_jax.parallel.schedule import Schedule, schedule
from rawweights_jax.train.loss import cross_entropy

STAGE = "stage"
IDLE, FORWARD, BACKWARD = 0, 1, 2


def stage_mesh(par: ParallelConfig, devices=None) -> Mesh:
    devices = list(jax.devices() if devices is None else devices)
    if len(devices) < par.stages:
        raise ValueError(f"{par.stages} pipeline stages need as many devices, only {len(devices)} are available")
    return Mesh(np.array(devices[:par.stages]), (STAGE,))


def check_pipeline(cfg: ModelConfig, par: ParallelConfig, batch: int) -> None:
    """Errors naming what a pipeline here cannot split."""
    if cfg.n_layers % par.stages:
        raise ValueError(f"{cfg.n_layers} layers do not split into {par.stages} equal stages")
    if batch % par.microbatches:
        raise ValueError(f"batch {batch} does not split into {par.microbatches} microbatches")
    if cfg.n_moe_layers or any(k != cfg.layer_kinds[0] for k in cfg.layer_kinds):
        raise ValueError("a pipeline stacks identical layers: no MoE or mixed local/global layers")


def pipeline_params(cfg: ModelConfig, seed: int = 0) -> dict:
    """The model's initial weights (those `init_model(cfg, seed)` draws) as {'rest', 'blocks'}:
    the layers stacked along a new first axis, everything else as is."""
    pure = nnx.to_pure_dict(nnx.state(init_model(cfg, seed), nnx.Param))
    blocks = pure.pop("blocks")
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *[blocks[i] for i in range(cfg.n_layers)])
    return {"rest": pure, "blocks": stacked}


def state_shardings(tree, mesh: Mesh):
    """Stacked layers (and their AdamW moments) split over stages on their first axis."""
    def spec(path, x):
        return NamedSharding(mesh, P(STAGE) if "blocks" in path_parts(path) and np.ndim(x) else P())
    return jax.tree_util.tree_map_with_path(spec, tree)


def _tables(sched: Schedule):
    """Per tick: each stage's op kind and microbatch, and where a received value goes (m: nowhere)."""
    p, m = sched.stages, sched.microbatches
    kind = np.zeros((sched.ticks, p), np.int32)
    mb = np.zeros((sched.ticks, p), np.int32)
    into_f = np.full((sched.ticks, p), m, np.int32)    # stage s receives F from s - 1
    into_b = np.full((sched.ticks, p), m, np.int32)    # stage s receives B from s + 1
    for t, row in enumerate(sched.ops):
        for s, op in enumerate(row):
            if op is None:
                continue
            kind[t, s], mb[t, s] = (FORWARD if op[0] == "F" else BACKWARD), op[1]
            if op[0] == "F" and s + 1 < p:
                into_f[t, s + 1] = op[1]
            if op[0] == "B" and s > 0:
                into_b[t, s - 1] = op[1]
    return kind, mb, into_f, into_b


def make_pipeline_step(cfg: ModelConfig, optimizer: optax.GradientTransformation, params,
                       opt_state, mesh: Mesh, par: ParallelConfig, batch: int):
    """The jitted step `(params, opt_state, x_BT, y_BT) -> (params, opt_state, loss)` of a
    `par.stages`-stage pipeline running `par.schedule` over `par.microbatches` microbatches."""
    check_pipeline(cfg, par, batch)
    p, m = par.stages, par.microbatches
    sched = schedule(par.schedule, p, m)
    kind_TS, mb_TS, into_f_TS, into_b_TS = _tables(sched)
    block_gd = nnx.graphdef(init_model(cfg.replace(n_layers=1)).blocks[0])
    shell = init_model(cfg.replace(n_layers=1))      # embedding and output layer, one dummy layer
    shell_gd, shell_state = nnx.split(shell, nnx.Param)
    b, T, D = batch // m, cfg.context_len, cfg.d_model
    mask = causal_mask(b, T)

    def run_stage(blocks, rest, h_in, x_bT, y_bT, first):
        """This stage's part of one microbatch: (its output activations, the loss)."""
        state = nnx.State({**rest, "blocks": {0: jax.tree.map(lambda a: a[0], blocks)}})
        model = nnx.merge(shell_gd, state)
        h_bTD = jnp.where(first, model.embed(x_bT, mask.q_pos_BT), h_in)
        rope = model.rope(mask.q_pos_BT, False)

        def layer(h_bTD, weights):
            return nnx.merge(block_gd, nnx.State(weights))(h_bTD, mask, rope)[0], None
        h_bTD = jax.lax.scan(layer, h_bTD, blocks)[0]
        return h_bTD, cross_entropy(model.unembed(h_bTD), y_bT)

    def per_stage(blocks, rest, x_BT, y_BT):
        s = jax.lax.axis_index(STAGE)
        first, last = s == 0, s == p - 1
        x_MbT, y_MbT = x_BT.reshape(m, b, T), y_BT.reshape(m, b, T)
        zeros = jnp.zeros((b, T, D), jnp.float32)
        inbox_f = jnp.zeros((m, b, T, D), jnp.float32)   # each microbatch's input, kept for its backward
        inbox_b = jnp.zeros((m, b, T, D), jnp.float32)   # gradients arriving from the next stage
        grads = jax.tree.map(jnp.zeros_like, (blocks, rest))
        loss = jnp.zeros((), jnp.float32)

        def idle(i, inbox_f, inbox_b):
            return zeros, zeros, jax.tree.map(jnp.zeros_like, grads), jnp.zeros((), jnp.float32)

        def forward(i, inbox_f, inbox_b):
            h, l = run_stage(blocks, rest, inbox_f[i], x_MbT[i], y_MbT[i], first)
            return h, zeros, jax.tree.map(jnp.zeros_like, grads), jnp.where(last, l / m, 0.0)

        # --8<-- [start:backward]
        def backward(i, inbox_f, inbox_b):
            f = lambda bl, re, h: run_stage(bl, re, h, x_MbT[i], y_MbT[i], first)
            _, vjp = jax.vjp(f, blocks, rest, inbox_f[i])
            d_blocks, d_rest, d_h = vjp((jnp.where(last, zeros, inbox_b[i]),
                                         jnp.where(last, 1.0 / m, 0.0)))
            return zeros, d_h, (d_blocks, d_rest), jnp.zeros((), jnp.float32)
        # --8<-- [end:backward]

        # --8<-- [start:ticks]
        for t in range(sched.ticks):                      # the table is static: unrolled
            k, i = jnp.asarray(kind_TS[t])[s], jnp.asarray(mb_TS[t])[s]
            send_f, send_b, d_grads, d_loss = jax.lax.switch(k, (idle, forward, backward),
                                                             i, inbox_f, inbox_b)
            grads = jax.tree.map(jnp.add, grads, d_grads)
            loss = loss + d_loss
            if (into_f_TS[t] < m).any():
                got = jax.lax.ppermute(send_f, STAGE, [(j, j + 1) for j in range(p - 1)])
                inbox_f = inbox_f.at[jnp.asarray(into_f_TS[t])[s]].set(got, mode="drop")
            if (into_b_TS[t] < m).any():
                got = jax.lax.ppermute(send_b, STAGE, [(j + 1, j) for j in range(p - 1)])
                inbox_b = inbox_b.at[jnp.asarray(into_b_TS[t])[s]].set(got, mode="drop")
        # --8<-- [end:ticks]
        d_blocks, d_rest = grads
        # the embedding's gradient is stage 0's, the output layer's the last stage's: one sum
        return d_blocks, jax.lax.psum(d_rest, STAGE), jax.lax.psum(loss, STAGE)

    grads_fn = jax.shard_map(per_stage, mesh=mesh, in_specs=(P(STAGE), P(), P(), P()),
                             out_specs=(P(STAGE), P(), P()), check_vma=False)

    def step(params, opt_state, x_BT, y_BT):
        d_blocks, d_rest, loss = grads_fn(params["blocks"], params["rest"], x_BT, y_BT)
        grads = {"rest": d_rest, "blocks": d_blocks}
        with jax.numpy_dtype_promotion("standard"):
            updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    p_sh, o_sh = state_shardings(params, mesh), state_shardings(opt_state, mesh)
    rep = NamedSharding(mesh, P())
    return jax.jit(step, in_shardings=(p_sh, o_sh, rep, rep), out_shardings=(p_sh, o_sh, rep),
                   donate_argnums=(0, 1))
