"""What every benchmark shares: timing compiled work, describing the machine, the matmul peak.

Each benchmark returns a dict of measured figures (the CLI prints it, or one JSON object with
--json). Every figure is measured in the same process as the work it is compared with, and
compilation is always excluded: each measured function runs once before it is timed.
"""

from __future__ import annotations

import datetime
import platform
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from rawweights_jax.parallel.mesh import device_mesh


def timeit(fn: Callable[[], object], repeat: int = 5, min_seconds: float = 0.0,
           max_repeat: int = 20) -> float:
    """Median wall seconds of `fn()` after one call that compiles it, waiting for its result each
    time: `repeat` runs, or more (up to `max_repeat`) until `min_seconds` have passed."""
    jax.block_until_ready(fn())
    times = []
    while len(times) < repeat or (sum(times) < min_seconds and len(times) < max_repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def environment() -> dict:
    devices = jax.devices()
    return {"date": datetime.date.today().isoformat(), "jax": jax.__version__,
            "platform": devices[0].platform, "device": devices[0].device_kind,
            "n_devices": len(devices), "machine": platform.machine(),
            "python": platform.python_version()}



def matmul_peak_gflops(n: int = 1024, repeat: int = 10) -> float:
    """Measured float32 matrix-product rate of the whole machine (all local devices at once)."""
    devices = jax.local_devices()
    x = jnp.ones((len(devices), n, n), jnp.float32)
    mesh = device_mesh(devices=devices)
    if mesh is not None:      # one product per device, run concurrently
        x = jax.device_put(x, NamedSharding(mesh, P(mesh.axis_names[0])))
    f = jax.jit(lambda a: a @ a)
    seconds = timeit(lambda: f(x), repeat)
    return len(devices) * 2 * n**3 / seconds / 1e9


def print_table(result: dict) -> None:
    width = max(map(len, result))
    for k, v in result.items():
        print(f"  {k:<{width}}  {v}")
