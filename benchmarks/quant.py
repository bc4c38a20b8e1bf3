"""Run `rawweights bench quant` and keep its result in benchmarks/results/quant-<platform>-<date>.json,
stamped with the device, date, command and commit (benchmarks/_results.py).

    python benchmarks/quant.py [--ckpt DIR] [--rounds N] [--out FILE]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import _results
from rawweights_jax.parallel.devices import use_cpu_cores


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", type=Path, help="trained checkpoint (default: out/shakespeare-char-cpu)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds")
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--out", type=Path, help="result file (default: benchmarks/results/...)")
    args = parser.parse_args(argv)
    use_cpu_cores()                      # as the rawweights command does, before JAX starts
    from rawweights_jax.bench.quant import bench_quant
    from rawweights_jax.parallel.mesh import MODEL, device_mesh

    result = bench_quant(args.ckpt, new_tokens=args.new_tokens, rounds=args.rounds, quiet=True,
                         mesh=device_mesh(MODEL))
    result.update(_results.stamp("quant.py", argv, "rawweights_jax/bench/quant.py"))
    out = _results.write(args.out or _results.default_path("quant"), result)
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
