"""Shared pytest fixtures. `shakespeare`: the real data set, or a skip that says how to get it."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))   # tests/_lib_support.py, tests/_site_support.py


@pytest.fixture(scope="session")
def shakespeare():
    from rawweights_jax.data import DataError, load_shakespeare

    try:
        return load_shakespeare()
    except DataError as err:
        pytest.skip(f"tiny Shakespeare unavailable: {err}")
