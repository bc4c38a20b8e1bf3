"""Prune the trained robot student and keep the result in
benchmarks/results/prune-<platform>-<date>.json, stamped with the device, date, command and
commit (benchmarks/_results.py).

    python benchmarks/prune.py              # 15 points x 200 fine-tuning steps + speed, ~6 min on 2 cores
    python benchmarks/prune.py --points magnitude@0.5 --steps 20 --no-speed --out /tmp/p.json
                                            # the cheapest point (tests/test_lib_prune.py re-runs it)

The checkpoint is the robot student the Robot Student pages read (`snippets/robot/_student.py`:
the `shakespeare-char-cpu` preset after its 2,000 steps, a shared result trained once per
content hash and reused), unless `--ckpt` names another. The fine-tune's learning rate is
constant, so the first N steps of a longer fine-tune are an N-step fine-tune: the test compares
them with the committed file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import _results
from rawweights_jax.parallel.devices import use_cpu_cores


def student_checkpoint() -> Path:
    """The robot student's folder (trained first, about 5 minutes, if no build has yet)."""
    sys.path.insert(0, str(_results.ROOT / "snippets" / "robot"))
    try:
        from _student import student_dir
    finally:
        sys.path.remove(str(_results.ROOT / "snippets" / "robot"))
    return student_dir()


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", type=Path, help="trained checkpoint (default: the robot student)")
    parser.add_argument("--points", nargs="+", help="e.g. magnitude@0.5 global@0.9 2:4 (default: all)")
    parser.add_argument("--steps", type=int, default=200, help="fine-tuning steps per point")
    parser.add_argument("--lr", type=float, default=1e-4,
                        help="constant fine-tuning learning rate (default: the recipe's last, min_lr)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed measurements")
    parser.add_argument("--out", type=Path, help="result file (default: benchmarks/results/...)")
    args = parser.parse_args(argv)
    use_cpu_cores()                      # as the rawweights command does, before JAX starts
    from rawweights_jax.bench.prune import bench_prune
    from rawweights_jax.parallel.mesh import MODEL, device_mesh

    ckpt = args.ckpt or student_checkpoint()
    result = bench_prune(ckpt, args.points, steps=args.steps, lr=args.lr, rounds=args.rounds,
                         with_speed=not args.no_speed, mesh=device_mesh(MODEL))
    result.update(_results.stamp("prune.py", argv, "rawweights_jax/bench/prune.py"))
    out = _results.write(args.out or _results.default_path("prune"), result)
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
