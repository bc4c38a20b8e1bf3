"""The `rawweights` command: help everywhere, one-line errors with exit 2, a real train + generate."""

import os
import subprocess
import sys

import pytest

from _lib_support import TEXT


def rawweights(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "rawweights_jax.cli", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, cwd=cwd, timeout=600)


@pytest.mark.parametrize("args", [[], ["train"], ["generate"], ["bench"], ["bench", "train"],
                                  ["bench", "decode"], ["bench", "attention"], ["bench", "quant"], ["quantize"],
                                  ["export-web"]])
def test_help_everywhere(args):
    r = rawweights(*args, "--help")
    assert r.returncode == 0 and "usage: rawweights" in r.stdout


@pytest.mark.parametrize("args, message", [
    (["train", "--preset", "gpt5"], "invalid choice: 'gpt5'"),
    (["train", "--preset", "shakespeare-char-cpu", "--max-iters", "-3"], "expected a positive integer"),
    (["generate", "--ckpt", "nowhere", "--prompt", "hi"], "no checkpoint at nowhere"),
    (["bench", "train", "--seed", "-1"], "seed=-1 is invalid"),
    (["bench", "attention", "--lengths", "12,x"], "expected comma-separated integers"),
    (["bench", "attention", "--backends", "flash"], "unknown backend(s) flash"),
    (["train", "--preset", "shakespeare-char-cpu", "--tokenizer", "bpe-x"], "expected char or bpe-N"),
    (["bench", "dedup", "--rates", "0.1,x"], "--rates '0.1,x': expected comma-separated numbers"),
    (["bench", "dedup", "--threshold", "1.5"], "threshold=1.5: expected a Jaccard similarity"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    r = rawweights(*args)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and message in r.stderr and "Traceback" not in r.stderr


def test_train_then_generate_and_errors_on_the_way(tmp_path):
    data = tmp_path / "data" / "tinyshakespeare"
    data.mkdir(parents=True)
    (data / "input.txt").write_text(TEXT)
    env = {"RAWWEIGHTS_DATA_DIR": str(tmp_path / "data")}
    # a folder that does not hold the real file is refused by its checksum
    r = rawweights("train", "--preset", "shakespeare-char-cpu", "--max-iters", "20",
                   "--out", str(tmp_path / "run"), env=env)
    assert r.returncode == 2 and "sha256" in r.stderr
    from rawweights_jax.data.shakespeare import Dataset
    from rawweights_jax.config import preset
    from rawweights_jax.train.loop import train
    cfg = preset("shakespeare-char-cpu").replace(max_iters=20, warmup_iters=2, eval_interval=10)
    train(cfg, Dataset.from_text(TEXT), out_dir=tmp_path / "run", progress=None)
    r = rawweights("generate", "--ckpt", str(tmp_path / "run"), "--prompt", "First",
                   "--max-new-tokens", "30", "--seed", "1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("First") and len(r.stdout.rstrip("\n")) >= 35
    r = rawweights("generate", "--ckpt", str(tmp_path / "run"), "--prompt", "First",
                   "--max-new-tokens", "30", "--seed", "1", "--kv-int8")
    assert r.returncode == 0 and r.stdout.startswith("First"), r.stderr
    r = rawweights("generate", "--ckpt", str(tmp_path / "run"), "--prompt", "First", "--kv-int8",
                   "--no-cache")
    assert r.returncode == 2 and "--kv-int8 needs the ordinary cached decoder" in r.stderr
    r = rawweights("generate", "--ckpt", str(tmp_path / "run"), "--prompt", "First{")
    assert r.returncode == 2 and "unknown character '{' at position 5" in r.stderr
    r = rawweights("train", "--preset", "shakespeare-char-cpu", "--out", str(tmp_path / "run"), env=env)
    assert r.returncode == 2 and "pass --resume" in r.stderr
    (tmp_path / "run" / "ckpt.safetensors").write_bytes(b"garbage")
    r = rawweights("generate", "--ckpt", str(tmp_path / "run"), "--prompt", "First")
    assert r.returncode == 2 and "not a readable checkpoint" in r.stderr


def test_cli_train_on_shakespeare_resumes(shakespeare, tmp_path):
    out = tmp_path / "cpu"
    r = rawweights("train", "--preset", "shakespeare-char-cpu", "--max-iters", "20", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "step     20/20" in r.stdout and (out / "metrics.json").is_file()
    r = rawweights("train", "--preset", "shakespeare-char-cpu", "--max-iters", "30", "--out", str(out), "--resume")
    assert r.returncode == 0, r.stderr
    assert "resumed from" in r.stdout and "step     30/30" in r.stdout


def test_cli_train_checks_out_before_training_and_a_finished_resume_changes_nothing(shakespeare, tmp_path):
    """--out that is a file fails at once (not at the first checkpoint, minutes later); resuming
    a run that already reached --max-iters says so and rewrites neither checkpoint nor metrics."""
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    r = rawweights("train", "--preset", "shakespeare-char-cpu", "--out", str(a_file))
    assert r.returncode == 2 and "is a file, not a folder" in r.stderr and "step" not in r.stdout
    out = tmp_path / "done"
    r = rawweights("train", "--preset", "shakespeare-char-cpu", "--max-iters", "10", "--out", str(out))
    assert r.returncode == 0, r.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    r = rawweights("train", "--preset", "shakespeare-char-cpu", "--max-iters", "10", "--out", str(out), "--resume")
    assert r.returncode == 0 and "nothing to do" in r.stdout and "saved" not in r.stdout
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
