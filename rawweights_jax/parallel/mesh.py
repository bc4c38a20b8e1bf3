"""Device meshes, built in one place: which devices a computation spreads over, and by which axis.

Every part of the library that uses several devices (data-parallel training, tensor-parallel
decoding, the benchmarks' peak measurement) gets its mesh from `device_mesh`, so an axis name
means the same thing everywhere: `data` splits batch rows, `model` splits weight matrices.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import numpy as np
from jax.sharding import Mesh

DATA, MODEL, EXPERT = "data", "model", "expert"
"""Axis names: batch rows (data parallelism), weight matrices (tensor parallelism), and the
experts of a mixture of experts with the rows (expert parallelism)."""


def device_mesh(axis: str = DATA, devices: Sequence[jax.Device] | None = None) -> Mesh | None:
    """A 1-D mesh named `axis` over `devices` (default: the local ones), or None for one device."""
    devices = list(jax.local_devices() if devices is None else devices)
    if not devices:
        raise ValueError("device_mesh: no devices given")
    return Mesh(np.array(devices), (axis,)) if len(devices) > 1 else None
