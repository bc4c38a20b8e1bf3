"""Data parallelism across 2 processes of 2 CPU devices each, joined by `jax.distributed` on
127.0.0.1 (Gloo collectives): the losses of 3 steps are one process's."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np

from rawweights_jax.config import ParallelConfig, TrainConfig
from rawweights_jax.data.batches import sample_batch
from rawweights_jax.train.multiprocess import TINY
from rawweights_jax.train.optimizer import make_optimizer

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_train_as_one(shakespeare):
    from rawweights_jax.train.strategies import train_steps

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("XLA_FLAGS", None)
    procs = [subprocess.Popen([sys.executable, "-m", "rawweights_jax.train.multiprocess",
                               "--process-id", str(i), "--processes", "2", "--port", str(port)],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(2)]
    outs = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=240)
        finally:
            if p.poll() is None:
                p.kill()
        assert p.returncode == 0, err[-2000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    assert [o["process_id"] for o in outs] == [0, 1]
    np.testing.assert_array_equal(outs[0]["losses"], outs[1]["losses"])

    batches = [sample_batch(shakespeare.train_Z, jax.random.key(i), 8, TINY.context_len)
               for i in range(3)]
    optimizer = make_optimizer(TrainConfig(batch_size=8, warmup_iters=0, lr=1e-2))
    one_process = train_steps(TINY, ParallelConfig(data=2), batches, optimizer)["losses"]
    one_device = train_steps(TINY, ParallelConfig(), batches, optimizer)["losses"]
    np.testing.assert_allclose(outs[0]["losses"], one_process, atol=1e-6, rtol=0)
    np.testing.assert_allclose(outs[0]["losses"], one_device, atol=1e-5, rtol=0)
    assert outs[0]["losses"][2] < outs[0]["losses"][0]
