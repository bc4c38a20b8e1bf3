"""The parallelism planner: memory against hand-computed cases, impossible splits, ranking, the CLI."""

import json
import math
import re
import subprocess
import sys

import pytest

from rawweights_jax.analysis.accelerators import accelerator, accelerator_names
from rawweights_jax.analysis.counts import param_counts, train_activation_bytes
from rawweights_jax.analysis.planner import Split, check_split, estimate, memory, plan, step_time
from rawweights_jax.analysis.published_runs import LLAMA3_RUNS, llama3_405b
from rawweights_jax.analysis.zoo import zoo_model
from rawweights_jax.cli.main import main

LLAMA8 = zoo_model("llama-3.1-8b").config        # 32 layers, 32 heads (8 KV), D 4096, F 14336
H100 = accelerator("h100-sxm")


def test_accelerator_table_is_complete_and_cited():
    names = accelerator_names()
    assert set(names) >= {"h100-sxm", "h200", "a100-80gb", "b200", "tpu-v5e", "tpu-v5p", "mi300x"}
    for name in names:
        acc = accelerator(name)
        assert acc.peak_flops > 1e14 and acc.hbm_bytes >= 16e9 and acc.node_size >= 8
        assert acc.sources and all("http" in s for s in acc.sources) and acc.checked
    assert H100.peak_flops == 989.4e12 and H100.link_bandwidth == 450e9   # one direction of 900
    assert accelerator(" H100-SXM ").key == "h100-sxm"
    with pytest.raises(ValueError, match="unknown accelerator 'h800'.*h100-sxm.*mi300x"):
        accelerator("h800")


def test_activation_bytes_by_hand():
    D, N, K, H, F = 4096, 32, 8, 128, 14336
    assert train_activation_bytes(LLAMA8) == 2 * (4 * D + 2 * (N + K) * H + 3 * F)
    assert train_activation_bytes(LLAMA8, recompute=True) == 2 * D


def test_memory_by_hand_plain_and_sharded():
    """Llama 3.1 8B, one micro-batch of one 1,024-token sequence."""
    c = param_counts(LLAMA8)
    P, T = c["total"], 1024
    plain = memory(LLAMA8, Split(8, 1, 1), batch=8, context=T)
    assert plain["weights"] == 2 * P and plain["grads"] == 2 * P and plain["optimizer"] == 12 * P
    assert plain["activations"] == 32 * T * train_activation_bytes(LLAMA8)
    assert plain["logits"] == T * 128256 * 4
    zero1 = memory(LLAMA8, Split(8, 1, 1, "optimizer"), 8, T)
    assert zero1["optimizer"] == 12 * P / 8 and zero1["grads"] == 2 * P
    fsdp = memory(LLAMA8, Split(8, 1, 1, "full"), 8, T)
    per_layer = c["non_embedding"] / 32
    assert fsdp["grads"] == 2 * P / 8 and fsdp["weights"] == pytest.approx(2 * P / 8 + 4 * per_layer)
    # pp 4: 8 layers and the heavier end (embedding and lm_head are equal here); 4 in flight
    piped = memory(LLAMA8, Split(2, 1, 4), 8, T)
    assert piped["weights"] == pytest.approx(2 * (8 * per_layer + c["embedding"]))
    assert piped["activations"] == pytest.approx(8 * T * 4 * train_activation_bytes(LLAMA8))
    recomputed = memory(LLAMA8, Split(8, 1, 1, recompute=True), 8, T)
    assert recomputed["activations"] == T * (32 * 2 * 4096 + train_activation_bytes(LLAMA8))


def test_tensor_parallel_divides_weights_and_activations_by_its_degree():
    one, eight = (memory(LLAMA8, Split(8 // t, t, 1), 8, 2048) for t in (1, 8))
    for part in ("weights", "grads", "optimizer", "activations", "logits"):
        assert one[part] / eight[part] == pytest.approx(8)


@pytest.mark.parametrize("split, gpus, batch, message", [
    (Split(1, 3, 1), 8, 8, "8 devices are not divisible by tp x pp = 3"),
    (Split(2, 8, 1), 8, 8, "dp x tp x pp = 16, not the 8 devices"),
    (Split(1, 3, 1), 3, 8, "32 attention heads are not divisible by tp=3"),
    (Split(1, 1, 3), 3, 8, "32 layers are not divisible by pp=3"),
    (Split(1, 1, 64), 64, 64, "pp=64 stages for 32 layers"),
    (Split(8, 1, 1), 8, 12, "batch of 12 sequences is not divisible by dp x micro-batch = 8"),
    (Split(1, 8, 1, "full"), 8, 8, "sharding='full' needs dp > 1"),
])
def test_impossible_splits_name_the_reason(split, gpus, batch, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        check_split(LLAMA8, split, gpus, batch)


def test_uneven_stages_and_bad_split_fields():
    check_split(LLAMA8, Split(1, 1, 3), 3, 8, even_stages=False)
    with pytest.raises(ValueError, match="tp=0"):
        Split(1, 0, 1)
    with pytest.raises(ValueError, match="sharding='zero2'"):
        Split(2, 1, 1, "zero2")
    with pytest.raises(ValueError, match="efficiency=1.5"):
        step_time(LLAMA8, H100, Split(8, 1, 1), 8, 1024, efficiency=1.5)


def test_step_time_parts():
    split, batch, T = Split(4, 2, 4), 64, 2048
    t = step_time(LLAMA8, H100, split, batch, T)
    m = 64 // 4
    assert t["bubble"] == pytest.approx(3 / (m + 3))
    assert t["compute_with_bubble"] == pytest.approx(t["compute"] * (m + 3) / m)
    # 8 layers x 16 micro-batches x 4 all-reduces of one micro-batch's activations, in-node
    assert t["tp"] == pytest.approx(8 * m * 4 * 1 * T * 4096 * 2 / 450e9)
    assert t["step"] == pytest.approx(t["compute_with_bubble"] + t["tp"] + t["pp"] + t["dp_exposed"])
    slow = step_time(LLAMA8, H100.with_inter_node(100), split, batch, T)
    # 32 GPUs span 4 nodes: tp x pp = 8 stays in one, dp crosses the (4x slower) network
    assert slow["tp"] == t["tp"] and slow["pp"] == t["pp"] and slow["dp"] == pytest.approx(4 * t["dp"])


def test_plan_ranks_fitting_splits_and_counts_the_rest():
    result = plan(LLAMA8, H100, 24, 48, 4096)
    steps = [r["time"]["step"] for r in result["fits"]]
    assert steps == sorted(steps) and all(r["fits"] for r in result["fits"])
    assert all(not r["fits"] for r in result["too_big"])
    assert all(r["tp"] <= H100.node_size for r in result["fits"] + result["too_big"])
    assert result["invalid"]["heads"] and result["invalid"]["layers"]     # tp 3 or 6; pp 3
    best = result["fits"][0]
    assert 0 < best["mfu"] < 1 and best["tokens_per_s"] == pytest.approx(48 * 4096 / best["time"]["step"])
    with pytest.raises(ValueError, match="not divisible by tp x pp = 32"):
        plan(LLAMA8, H100, 16, 64, 4096, tp=8, pp=4)


def test_llama3_405b_matches_the_paper():
    cfg = llama3_405b()
    assert 400e9 < param_counts(cfg)["total"] < 410e9
    for run in LLAMA3_RUNS:
        split = Split(run.dp, run.tp, run.pp, "optimizer", True)
        check_split(cfg, split, run.gpus, run.sequences, even_stages=False)
        est = estimate(cfg, H100, split, run.sequences, run.context)
        assert est["fits"] and math.isclose(run.mfu, run.tflops_per_gpu / 989.4)
    with pytest.raises(ValueError, match="126 layers are not divisible by pp=16"):
        check_split(cfg, Split(64, 8, 16), 8192, 2048)


def test_cli_table_and_json(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["plan", "--help"])
    assert exit_.value.code == 0 and "--uneven-stages" in capsys.readouterr().out
    assert main(["plan", "llama-3.1-8b", "--gpus", "16", "--gpu", "h100-sxm", "--batch", "64",
                 "--context", "4096", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "llama-3.1-8b on 16 x NVIDIA H100 SXM" in out and len(out.split("\n\n")[1].splitlines()) == 5
    assert main(["plan", "llama-3.1-8b", "--gpus", "16", "--gpu", "h100-sxm", "--batch", "64",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert {"model", "gpu", "gpus", "batch", "context", "efficiency", "bytes_per_param", "fits",
            "too_big", "invalid"} <= set(d)
    assert {"split", "dp", "tp", "pp", "sharding", "recompute", "micro_batches", "memory", "fits",
            "time", "mfu", "tokens_per_s"} <= set(d["fits"][0])
    assert {"weights", "grads", "optimizer", "activations", "logits", "total"} == set(d["fits"][0]["memory"])


@pytest.mark.parametrize("args, message", [
    (["llama-3.1-8b", "--gpus", "8", "--gpu", "h800"], "unknown accelerator 'h800': known ones are h100-sxm"),
    (["no-such-model", "--gpus", "8", "--gpu", "h100-sxm"], "'no-such-model' is not a file"),
    (["llama-3.1-8b", "--gpus", "12", "--gpu", "h100-sxm", "--tp", "8"], "12 devices are not divisible by tp x pp = 8"),
    (["llama-3.1-8b", "--gpus", "6", "--gpu", "h100-sxm", "--tp", "6"], "32 attention heads are not divisible by tp=6"),
    (["llama-3.1-8b", "--gpus", "6", "--gpu", "h100-sxm", "--pp", "6"], "32 layers are not divisible by pp=6"),
    (["llama-3.1-70b", "--gpus", "8", "--gpu", "tpu-v5e"], "no split of llama-3.1-70b fits"),
    (["llama-3.1-8b", "--gpus", "8", "--gpu", "h100-sxm", "--efficiency", "2"], "efficiency=2.0"),
])
def test_cli_errors_are_one_line_exit_2(args, message, capsys):
    assert main(["plan", *args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err and err.startswith("rawweights plan: error:")


def test_cli_bad_config_file_in_a_subprocess(tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text('{"model_type": "llama", "hidden_size": 64}')
    r = subprocess.run([sys.executable, "-m", "rawweights_jax.cli", "plan", str(bad), "--gpus", "8",
                        "--gpu", "h100-sxm"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
