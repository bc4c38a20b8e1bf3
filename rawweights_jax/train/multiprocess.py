"""Data parallelism across processes: `jax.distributed` joins several programs, each with its own
CPU devices, into one set of global devices, and the same sharded step runs over all of them.

    python -m rawweights_jax.train.multiprocess --process-id 0 --processes 2 --port 12355 &
    python -m rawweights_jax.train.multiprocess --process-id 1 --processes 2 --port 12355

Each process starts the coordination service's client (process 0 also its server, on
127.0.0.1), gets `--local-devices` CPU devices, and sees all processes' devices in
`jax.devices()`. The mesh spans them; the gradients' all-reduce crosses processes through the
CPU collectives (Gloo, JAX's default on CPU, over TCP). Each process feeds only its own rows of
every global batch (`make_array_from_process_local_data`), as it would on separate machines,
and prints the losses of `--steps` AdamW steps as one JSON line, which must be one process's.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from rawweights_jax.config import ModelConfig

TINY = ModelConfig(vocab_size=65, context_len=32, n_layers=2, n_heads=4, d_model=64)
"""The model trained: small, as the test runs it on every change."""


def global_array(x, sharding):
    """A global array from a value every process holds whole (weights, optimizer state)."""
    import jax

    x = np.asarray(x)
    return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])


def run(process_id: int, processes: int, port: int, local_devices: int = 2, steps: int = 3,
        batch: int = 8) -> list[float]:
    """Join the group, train `steps` steps data-parallel over every process's devices, return
    the losses (each process gets the same ones)."""
    import jax

    jax.config.update("jax_num_cpu_devices", local_devices)
    jax.distributed.initialize(f"127.0.0.1:{port}", processes, process_id,
                               initialization_timeout=60)
    # imported only now: the library's modules may touch the backend, which must start joined
    from flax import nnx
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    from rawweights_jax.config import ParallelConfig, TrainConfig
    from rawweights_jax.data.batches import sample_batch
    from rawweights_jax.data.shakespeare import load_shakespeare
    from rawweights_jax.model.gpt import init_model
    from rawweights_jax.train.optimizer import make_optimizer
    from rawweights_jax.train.spread import make_step, spread_mesh, state_shardings

    par = ParallelConfig(data=len(jax.devices()))
    mesh = spread_mesh(par)
    optimizer = make_optimizer(TrainConfig(batch_size=batch, warmup_iters=0, lr=1e-2))
    graphdef, params = nnx.split(init_model(TINY), nnx.Param)
    opt_state = optimizer.init(params)
    params = jax.tree.map(global_array, params, state_shardings(params, mesh, par))
    opt_state = jax.tree.map(global_array, opt_state, state_shardings(opt_state, mesh, par))
    step = make_step(graphdef, optimizer, params, opt_state, mesh, par)
    rows = NamedSharding(mesh, P("data"))
    data_Z = load_shakespeare().train_Z
    mine = slice(process_id * batch // processes, (process_id + 1) * batch // processes)
    losses = []
    for i in range(steps):
        x_BT, y_BT = sample_batch(data_Z, jax.random.key(i), batch, TINY.context_len)
        x_BT, y_BT = (jax.make_array_from_process_local_data(rows, np.asarray(a)[mine]) for a in (x_BT, y_BT))
        params, opt_state, loss = step(params, opt_state, x_BT, y_BT)
        losses.append(float(loss))
    jax.distributed.shutdown()
    return losses


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m rawweights_jax.train.multiprocess",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--process-id", type=int, required=True)
    p.add_argument("--processes", type=int, required=True)
    p.add_argument("--port", type=int, required=True, help="coordinator port on 127.0.0.1")
    p.add_argument("--local-devices", type=int, default=2)
    p.add_argument("--steps", type=int, default=3)
    args = p.parse_args(argv)
    if not 0 <= args.process_id < args.processes:
        p.error(f"--process-id {args.process_id}: expected 0 to {args.processes - 1}")
    losses = run(args.process_id, args.processes, args.port, args.local_devices, args.steps)
    print(json.dumps({"process_id": args.process_id, "losses": losses}), flush=True)


if __name__ == "__main__":
    main()
