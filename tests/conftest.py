"""Shared pytest fixtures. `shakespeare`: the real data set, or a skip that says how to get it."""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))   # tests/_lib_support.py, tests/_site_support.py

from _xdist_support import pytest_xdist_make_scheduler  # noqa: E402,F401  (pytest finds hooks by name)

# XLA compilations dominate the library tests: keep them on disk, so a computation compiled by
# one test (or by a CLI subprocess, which inherits the variables) is loaded by the next.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                      str(Path(__file__).resolve().parents[1] / ".cache" / "jax-tests"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")

import jax  # noqa: E402

# Two CPU devices in this process (not in the subprocesses tests start: JAX's option, unlike
# XLA_FLAGS, is not inherited), so multi-device paths are tested by passing a mesh (`mesh2`).
# Strict dtype promotion: an implicit int/float or float32/bfloat16 mix is an error in tests.
jax.config.update("jax_num_cpu_devices", 2)
jax.config.update("jax_numpy_dtype_promotion", "strict")


@pytest.fixture(scope="session")
def mesh2():
    """A 1-D mesh over two CPU devices (axis `data`)."""
    from rawweights_jax.parallel.mesh import device_mesh

    return device_mesh(devices=jax.devices()[:2])


@pytest.fixture(scope="session")
def shakespeare():
    from rawweights_jax.data.shakespeare import DataError, load_shakespeare

    try:
        return load_shakespeare()
    except DataError as err:
        pytest.skip(f"tiny Shakespeare unavailable: {err}")
