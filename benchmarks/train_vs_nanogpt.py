"""`rawweights bench train` against nanoGPT's own `train.py`, in interleaved rounds.

The issue's yardstick is nanoGPT itself (Karpathy, github.com/karpathy/nanoGPT), run as its
README runs it on a CPU: `config/train_shakespeare_char.py --device=cpu --compile=False
--eval_iters=20 --log_interval=1 --block_size=64 --batch_size=12 --n_layer=4 --n_head=4
--n_embd=128 --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0`: the same model and
recipe as our `shakespeare-char-cpu` preset. nanoGPT is not on PyPI, so the script takes a
checkout (`--nanogpt DIR`, e.g. `git clone https://github.com/karpathy/nanoGPT`) and never
downloads anything: it copies the checkout to a temporary folder, puts our checksum-verified
tiny Shakespeare where nanoGPT's `data/shakespeare_char/prepare.py` looks first, and runs that
script there (the user's checkout is left as it was).

Each round runs both sides, each in a fresh process, the order alternating between rounds, so
that the drift of a shared VM (15% within minutes here) hits both alike. Per-iteration time is
each side's own median over its run with evaluation excluded: nanoGPT prints `time ... ms` for
every iteration (`--log_interval=1`); the iterations that include an evaluation (0, 250, ...)
are dropped. Ours is `bench train`'s `ms_per_iter` (the median over its compiled dispatches).
The result is the median of the per-round ratios with their range, and both sides' final
validation losses (nanoGPT's over its 20 evaluation batches, ours over 200).

    python benchmarks/train_vs_nanogpt.py --nanogpt DIR [--rounds 3] [--iters 2000]
        (about 4 minutes a round at 2000 iterations on 2 cores)
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import _results

NANOGPT_ARGS = ["config/train_shakespeare_char.py", "--device=cpu", "--compile=False",
                "--eval_iters=20", "--log_interval=1", "--block_size=64", "--batch_size=12",
                "--n_layer=4", "--n_head=4", "--n_embd=128", "--dropout=0.0"]
EVAL_INTERVAL = 250          # config/train_shakespeare_char.py's
ITER_LINE = re.compile(r"^iter (\d+): loss ([\d.]+), time ([\d.]+)ms")
EVAL_LINE = re.compile(r"^step (\d+): train loss ([\d.]+), val loss ([\d.]+)")


def prepare_nanogpt(checkout: Path, work: Path) -> Path:
    """A copy of the nanoGPT checkout in `work`, its character data prepared from our file."""
    from rawweights_jax.data.shakespeare import shakespeare_path

    if not (checkout / "train.py").is_file() or not (checkout / "data/shakespeare_char/prepare.py").is_file():
        sys.exit(f"--nanogpt {checkout}: not a nanoGPT checkout (no train.py and "
                 "data/shakespeare_char/prepare.py); git clone https://github.com/karpathy/nanoGPT")
    copy = work / "nanoGPT"
    shutil.copytree(checkout, copy, ignore=shutil.ignore_patterns(".git", "out-*", "*.bin", "*.pkl"))
    data = copy / "data" / "shakespeare_char"
    shutil.copyfile(shakespeare_path(), data / "input.txt")     # prepare.py downloads only if absent
    subprocess.run([sys.executable, "prepare.py"], cwd=data, check=True, capture_output=True)
    return copy


def run_nanogpt(copy: Path, iters: int) -> dict:
    """One run of nanoGPT's train.py; its per-iteration median and last validation loss."""
    out_dir = copy / f"out-{time.monotonic_ns()}"
    args = [*NANOGPT_ARGS, f"--max_iters={iters}", f"--lr_decay_iters={iters}", f"--out_dir={out_dir}"]
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "train.py", *args], cwd=copy, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        sys.exit(f"nanoGPT's train.py failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    ms, evals = {}, {}
    for line in proc.stdout.splitlines():
        if m := ITER_LINE.match(line):
            ms[int(m[1])] = float(m[3])
        elif m := EVAL_LINE.match(line):
            evals[int(m[1])] = float(m[3])
    shutil.rmtree(out_dir, ignore_errors=True)
    timed = [t for i, t in ms.items() if i % EVAL_INTERVAL]   # iterations 0, 250, ... include an evaluation
    if not timed:
        sys.exit("nanoGPT's train.py printed no 'iter N: ... time X ms' lines: has its log format changed?")
    if not evals:
        sys.exit("nanoGPT's train.py printed no 'step N: ... val loss X' lines: has its log format changed?")
    last = max(evals)
    return {"ms_per_iter": round(float(np.median(timed)), 3), "ms_per_iter_p10_p90":
            [round(float(np.percentile(timed, q)), 3) for q in (10, 90)],
            "val_loss": evals[last], "val_loss_step": last, "wall_seconds": round(wall, 1)}


def run_ours(iters: int, seed: int) -> dict:
    cmd = [sys.executable, "-m", "rawweights_jax.cli", "bench", "train", "--json",
           "--max-iters", str(iters), "--seed", str(seed)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"rawweights bench train failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    keep = ("ms_per_iter", "val_loss", "seed", "mfu", "matmul_peak_gflops", "matmul_peak_gflops_before_after",
            "achieved_gflops")
    return {**{k: r[k] for k in keep if k in r}, "wall_seconds": round(time.perf_counter() - t0, 1)}


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nanogpt", type=Path, required=True, help="a checkout of karpathy/nanoGPT")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iters", type=int, default=2000, help="iterations per run (the preset's 2000)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.iters < EVAL_INTERVAL + 10:
        parser.error(f"--rounds must be >= 1 and --iters >= {EVAL_INTERVAL + 10}")
    rounds = []
    with tempfile.TemporaryDirectory(prefix="nanogpt-") as work:
        copy = prepare_nanogpt(args.nanogpt.resolve(), Path(work))
        for i in range(args.rounds):
            order = ("nanogpt", "rawweights_jax") if i % 2 == 0 else ("rawweights_jax", "nanogpt")
            r = {}
            for side in order:
                r[side] = run_nanogpt(copy, args.iters) if side == "nanogpt" else run_ours(args.iters, seed=1337 + i)
            r["speedup"] = round(r["nanogpt"]["ms_per_iter"] / r["rawweights_jax"]["ms_per_iter"], 3)
            rounds.append(r)
            print(f"round {i + 1}/{args.rounds} ({' first, '.join(order)} second): nanoGPT "
                  f"{r['nanogpt']['ms_per_iter']} ms/iter, rawweights_jax {r['rawweights_jax']['ms_per_iter']}"
                  f" -> {r['speedup']}x; val loss {r['nanogpt']['val_loss']} / {r['rawweights_jax']['val_loss']}",
                  file=sys.stderr)
    ratios = [r["speedup"] for r in rounds]
    med = {side: float(np.median([r[side]["ms_per_iter"] for r in rounds])) for side in ("nanogpt", "rawweights_jax")}
    result = {"benchmark": "train-vs-nanogpt", "iters": args.iters, "rounds": args.rounds,
              "nanogpt_ms_per_iter_median": med["nanogpt"],
              "rawweights_jax_ms_per_iter_median": med["rawweights_jax"],
              "speedup_median": round(float(np.median(ratios)), 3),
              "speedup_range": [min(ratios), max(ratios)],
              "nanogpt_val_loss": [r["nanogpt"]["val_loss"] for r in rounds],
              "rawweights_jax_val_loss": [r["rawweights_jax"]["val_loss"] for r in rounds],
              "per_round": rounds,
              "nanogpt_args": NANOGPT_ARGS, "nanogpt_commit": _nanogpt_commit(args.nanogpt)}
    result.update(_results.stamp("train_vs_nanogpt.py", argv, "rawweights_jax/bench/train.py"))
    out = _results.write(args.out or _results.default_path("train-vs-nanogpt"), result)
    print(json.dumps({k: result[k] for k in ("speedup_median", "speedup_range", "nanogpt_ms_per_iter_median",
                                             "rawweights_jax_ms_per_iter_median")}))
    print(f"wrote {out}", file=sys.stderr)
    return out


def _nanogpt_commit(checkout: Path) -> str:
    """The checkout's commit when it is a git clone, else what its folder is called."""
    head = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True)
    return head.stdout.strip() or f"(not a git clone: {checkout.name})"


if __name__ == "__main__":
    main(sys.argv[1:])
