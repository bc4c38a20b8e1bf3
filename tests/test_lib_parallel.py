"""Parallel training on two CPU devices: the HLO collective counter, and every GSPMD strategy
(dp, fsdp, tp, and fsdp with tp) giving one device's losses over 3 steps, with the bytes its
compiled step communicates equal to the formula (analysis/comm.py) within 5%."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from rawweights_jax.analysis.comm import comm_bytes
from rawweights_jax.config import ModelConfig, ParallelConfig, TrainConfig
from rawweights_jax.model.gpt import init_model
from rawweights_jax.parallel.hlo import collective_bytes, compiled_collective_bytes, shape_bytes
from rawweights_jax.train.optimizer import make_optimizer
from rawweights_jax.train.spread import spread_mesh
from rawweights_jax.train.strategies import train_steps

HLO = """
HloModule m
ENTRY %main (p: f32[4,8]) -> (f32[4,8], bf16[16]) {
  %p = f32[4,8]{1,0} parameter(0)
  %q = bf16[2,4]{1,0} parameter(1)
  %all-reduce.3 = (f32[4,8]{1,0}, bf16[2,4]{1,0}) all-reduce(%p, %q), replica_groups={{0,1}}, to_apply=%add
  %all-gather-start = (bf16[2,4]{1,0}, bf16[4,4]{1,0}) all-gather-start(%q), dimensions={0}
  %all-gather-done = bf16[4,4]{1,0} all-gather-done(%all-gather-start)
  ROOT %cp = f32[4,8]{1,0} collective-permute(%p), source_target_pairs={{0,1},{1,0}}
}
"""


def test_collective_bytes_reads_operands_per_kind():
    assert shape_bytes("(f32[4,8]{1,0}, bf16[2,4]{1,0}, token[])") == 4 * 32 + 2 * 8
    got = collective_bytes(HLO)
    assert got == {"all-reduce": 128 + 16, "all-gather": 16, "reduce-scatter": 0,
                   "all-to-all": 0, "collective-permute": 128}
    with pytest.raises(ValueError, match="'missing'"):
        collective_bytes(HLO.replace("all-gather-start(%q)", "all-gather-start(%missing)"))


def test_collective_bytes_of_compiled_psum_and_gather():
    mesh = Mesh(np.array(jax.devices()[:2]), ("data",))
    x = jax.device_put(jnp.ones((8, 16), jnp.float32), NamedSharding(mesh, P("data")))
    total = jax.jit(lambda x: x.sum(0), out_shardings=NamedSharding(mesh, P()))
    gather = jax.jit(lambda x: x * 2, out_shardings=NamedSharding(mesh, P()))
    assert compiled_collective_bytes(total, x)["all-reduce"] == 16 * 4    # each device's partial sum
    assert compiled_collective_bytes(gather, x)["all-gather"] == 4 * 16 * 4   # each device's shard


CFG = ModelConfig(vocab_size=65, context_len=32, n_layers=2, n_heads=4, d_model=64)


@pytest.fixture(scope="module")
def batches(shakespeare):
    from rawweights_jax.data.batches import sample_batch
    data_Z = jnp.asarray(shakespeare.train_Z)
    return [sample_batch(data_Z, jax.random.key(i), 8, CFG.context_len) for i in range(3)]


@pytest.fixture(scope="module")
def one_device(batches):
    return train3(ParallelConfig(), batches)


def train3(par: ParallelConfig, batches, cfg=CFG):
    """Losses of 3 AdamW steps, the step's collective bytes, and the state bytes per device."""
    optimizer = make_optimizer(TrainConfig(batch_size=8, warmup_iters=0, lr=1e-2))
    got = train_steps(cfg, par, batches, optimizer)
    return np.array(got["losses"]), got["comm"], got["memory"]


@pytest.mark.parametrize("par", [ParallelConfig(data=2), ParallelConfig(data=2, fsdp=True),
                                 ParallelConfig(model=2)], ids=["dp", "fsdp", "tp"])
def test_strategy_matches_one_device_and_its_formula(par, batches, one_device):
    ref_losses, ref_sent, ref_memory = one_device
    losses, sent, memory = train3(par, batches)
    assert not any(ref_sent.values())
    np.testing.assert_allclose(losses, ref_losses, atol=1e-5, rtol=0)
    assert ref_losses[2] < ref_losses[0]             # it learns: the steps did something
    formula = comm_bytes(CFG, par, batch=8)
    assert_bytes_match(sent, formula)
    # fsdp keeps half the state on each device; tp half the split matrices
    if par.fsdp:
        assert memory == pytest.approx(ref_memory / 2, rel=0.01)
    elif par.model > 1:
        assert ref_memory / 2 < memory < ref_memory * 0.6
    else:
        assert memory == ref_memory


def assert_bytes_match(sent: dict, formula: dict) -> None:
    """Each kind's HLO bytes within 5% of the formula, plus 64 bytes for scalars (the loss)."""
    for kind, n in formula.items():
        assert abs(sent[kind] - n) <= 0.05 * n + 64, (kind, sent, formula)


def test_parallel_config_names_the_bad_value():
    with pytest.raises(ValueError, match=r"ParallelConfig.fsdp=True is invalid"):
        ParallelConfig(fsdp=True)
    with pytest.raises(ValueError, match=r"ParallelConfig.schedule='zigzag'"):
        ParallelConfig(schedule="zigzag")
    with pytest.raises(ValueError, match="needs 16 devices"):
        spread_mesh(ParallelConfig(data=16))


def test_bench_parallel_says_how_to_get_the_devices():
    from rawweights_jax.bench.parallel import bench_parallel

    with pytest.raises(ValueError, match="xla_force_host_platform_device_count=8"):
        bench_parallel(8)          # this process has two devices (conftest.py)
    with pytest.raises(ValueError, match="--devices 6: expected a power of two"):
        bench_parallel(6)


@pytest.mark.parametrize("name", ["gpipe", "1f1b"])
def test_schedule_respects_dependencies_and_counts_the_bubble(name):
    from rawweights_jax.parallel.schedule import ideal_bubble, schedule

    for p, m in [(2, 1), (4, 8), (3, 5), (8, 2)]:
        sched = schedule(name, p, m)
        when = {(op, s): t for t, row in enumerate(sched.ops) for s, op in enumerate(row) if op}
        assert len(when) == 2 * m * p                   # every forward and backward, once
        for (op, s), t in when.items():
            kind, i = op
            before = ((("F", i), s - 1) if s else None) if kind == "F" else \
                     ((("B", i), s + 1) if s < p - 1 else (("F", i), s))
            assert before is None or when[before] < t, (name, p, m, op, s)
        assert sched.bubble_fraction == pytest.approx(ideal_bubble(p, m))
        assert sched.peak_in_flight == (m if name == "gpipe" else min(p, m))
    with pytest.raises(ValueError, match="'zigzag'"):
        schedule("zigzag", 2, 2)


@pytest.mark.parametrize("name", ["gpipe", "1f1b"])
def test_pipeline_matches_one_device_and_its_formula(name, batches, one_device):
    from rawweights_jax.train import pipeline

    par = ParallelConfig(stages=2, microbatches=2, schedule=name)
    losses, sent, _ = train3(par, batches)
    np.testing.assert_allclose(losses, one_device[0], atol=1e-5, rtol=0)
    formula = comm_bytes(CFG, par, batch=8)
    assert formula["collective-permute"] > 0
    assert_bytes_match(sent, formula)
    with pytest.raises(ValueError, match="batch 8 does not split into 3 microbatches"):
        pipeline.check_pipeline(CFG, ParallelConfig(stages=2, microbatches=3), 8)


MOE = CFG.replace(n_experts=4, experts_per_token=2, d_expert=64, mlp="swiglu", position="rope",
                  norm="rmsnorm", tie_embeddings=False, n_layers=1)   # moe-char-cpu, smaller


def test_expert_parallel_matches_one_device_and_its_formula(batches):
    ref_losses, _, ref_memory = train3(ParallelConfig(), batches, MOE)
    par = ParallelConfig(experts=2)
    losses, sent, memory = train3(par, batches, MOE)
    np.testing.assert_allclose(losses, ref_losses, atol=1e-5, rtol=0)
    formula = comm_bytes(MOE, par, batch=8)
    assert formula["all-to-all"] > 0
    assert_bytes_match(sent, formula)
    assert memory < ref_memory             # each device keeps half the experts


def test_int8_mean_is_the_mean_to_two_roundings():
    from rawweights_jax.train.compress import int8_mean

    mesh = Mesh(np.array(jax.devices()[:2]), ("data",))
    x_NZ = jax.random.normal(jax.random.key(0), (2, 1001))     # 1001: not a multiple of 2
    f = jax.shard_map(lambda x: int8_mean(x[0], "data")[None], mesh=mesh, in_specs=P("data"),
                      out_specs=P("data"), check_vma=False)
    got_NZ = np.asarray(f(x_NZ))
    exact = np.asarray(x_NZ).mean(0)
    step = np.abs(np.asarray(x_NZ)).max() / 127
    np.testing.assert_array_equal(got_NZ[0], got_NZ[1])          # every device the same
    assert np.abs(got_NZ[0] - exact).max() <= step              # half a step, twice
    assert np.abs(got_NZ[0] - exact).max() > 0                  # it did round


def test_int8_gradients_change_the_loss_a_little(batches, one_device):
    par = ParallelConfig(data=2, compress="int8")
    losses, sent, _ = train3(par, batches)
    assert losses[0] == pytest.approx(one_device[0][0], abs=1e-5)   # before any update
    assert 0 < np.abs(losses - one_device[0]).max() < 0.05
    formula = comm_bytes(CFG, par, batch=8)
    assert_bytes_match(sent, formula)


def test_committed_benchmark_agrees_with_todays_formulas():
    """The page reads benchmarks/results/parallel-cpu-2026-12-04.json: its formula bytes and
    bubbles must be what the library computes now, and its measurements within the targets."""
    import json
    from pathlib import Path

    from rawweights_jax.bench.parallel import BATCH, bench_model, strategies
    from rawweights_jax.config import preset
    from rawweights_jax.parallel.schedule import schedule

    path = Path(__file__).resolve().parents[1] / "benchmarks/results/parallel-cpu-2026-12-04.json"
    result = json.loads(path.read_text())
    rows = {r["name"]: r for r in result["strategies"]}
    assert set(rows) == set(strategies(8))
    for name, par in strategies(8).items():
        cfg = preset("moe-char-cpu").model if par.experts > 1 else bench_model()
        assert rows[name]["comm_bytes_formula"] == sum(comm_bytes(cfg, par, BATCH).values()), name
        assert abs(rows[name]["comm_hlo_over_formula"] - 1) < 0.05, name
        if name != "dp-int8":
            assert rows[name]["max_loss_diff"] < 1e-5, name
        if par.stages > 1:
            assert rows[name]["bubble_fraction"] == schedule(par.schedule, par.stages,
                                                             par.microbatches).bubble_fraction
