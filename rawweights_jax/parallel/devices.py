"""Using every CPU core: one XLA device per core, each single-threaded, batch split across them.

XLA's CPU backend parallelises a big matrix product over its thread pool, but the many small
element-wise kernels of a small transformer (norms, softmax, GELU) run on one thread each, and
the hand-off between threads costs more than it saves at these sizes. Splitting the *batch*
instead (data parallelism, as across GPUs) keeps every core busy on every kernel: with one
device per core and single-threaded kernels, each core runs the whole step on its share of
the batch, and the gradients are summed across devices once per step.

This must be decided before JAX starts its CPU backend, so the command-line entry points call
`use_cpu_cores()` first thing; library users may call it too, or set XLA_FLAGS themselves.
"""

from __future__ import annotations

import os
import sys

ENV_OPT_OUT = "RAWWEIGHTS_CPU_DEVICES"


def use_cpu_cores(n: int | None = None) -> bool:
    """Ask XLA for one single-threaded CPU device per core (n cores; default: all).

    Returns False (and changes nothing) when JAX's backend is already running, when
    XLA_FLAGS already sets a device count, or when RAWWEIGHTS_CPU_DEVICES=1.
    """
    if "jax" in sys.modules:
        import jax._src.xla_bridge as xb   # started backends cannot be reconfigured
        if getattr(xb, "_backends", None):
            return False
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" in flags:
        return False
    n = n or int(os.environ.get(ENV_OPT_OUT, 0)) or len(os.sched_getaffinity(0))
    if n <= 1:
        return False
    os.environ["XLA_FLAGS"] = (flags + f" --xla_force_host_platform_device_count={n}"
                               " --xla_cpu_multi_thread_eigen=false").strip()
    return True
