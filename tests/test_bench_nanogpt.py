"""benchmarks/train_vs_nanogpt.py without torch: a stand-in nanoGPT checkout whose train.py
prints nanoGPT's log lines, so the parsing, the evaluation-iteration filter, the data set-up and
the refusals are checked; the real comparison needs nanoGPT and minutes (README)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def race():
    sys.path.insert(0, str(REPO / "benchmarks"))      # the script imports its sibling _results
    spec = importlib.util.spec_from_file_location("train_vs_nanogpt", REPO / "benchmarks" / "train_vs_nanogpt.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.path.remove(str(REPO / "benchmarks"))


FAKE_TRAIN = '''
import sys
args = dict(a.lstrip("-").split("=", 1) for a in sys.argv[2:] if "=" in a)
assert open("data/shakespeare_char/train.bin").read() == "prepared", "prepare.py did not run"
n = int(args["max_iters"])
for i in range(n + 1):
    if i % 250 == 0:
        print(f"step {i}: train loss 2.0000, val loss {3.0 - i / 1000:.4f}")
    print(f"iter {i}: loss 2.0000, time {900.0 if i % 250 == 0 else 40.0 + i % 3:.2f}ms, mfu -100.00%")
'''
FAKE_PREPARE = '''
text = open("input.txt").read()
assert text.startswith("First Citizen"), "not tiny Shakespeare"
open("train.bin", "w").write("prepared")
'''


def _checkout(tmp_path: Path) -> Path:
    root = tmp_path / "nanoGPT"
    (root / "data" / "shakespeare_char").mkdir(parents=True)
    (root / "train.py").write_text(FAKE_TRAIN)
    (root / "data" / "shakespeare_char" / "prepare.py").write_text(FAKE_PREPARE)
    return root


def test_nanogpt_runs_are_parsed_without_their_evaluation_iterations(race, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    copy = race.prepare_nanogpt(_checkout(tmp_path), work)
    assert not (tmp_path / "nanoGPT" / "data" / "shakespeare_char" / "input.txt").exists()  # the checkout untouched
    r = race.run_nanogpt(copy, 600)
    assert r["ms_per_iter"] == 41.0              # 40, 41, 42 ms; the 900-ms evaluation iterations left out
    assert r["val_loss"] == 2.5 and r["val_loss_step"] == 500
    assert r["ms_per_iter_p10_p90"][1] <= 42.0


def test_what_is_not_a_nanogpt_checkout_is_named(race, tmp_path):
    with pytest.raises(SystemExit, match="not a nanoGPT checkout"):
        race.prepare_nanogpt(tmp_path, tmp_path)


def test_a_log_without_iteration_lines_is_refused(race, tmp_path):
    root = _checkout(tmp_path)
    (root / "train.py").write_text("print('something else entirely')\n")
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(SystemExit, match="log format"):
        race.run_nanogpt(race.prepare_nanogpt(root, work), 300)
