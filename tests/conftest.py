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


@pytest.fixture(scope="session")
def shakespeare():
    from rawweights_jax.data import DataError, load_shakespeare

    try:
        return load_shakespeare()
    except DataError as err:
        pytest.skip(f"tiny Shakespeare unavailable: {err}")
