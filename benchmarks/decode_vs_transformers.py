"""`rawweights bench decode` against transformers' `generate()` (benchmarks/torch_reference.py
decode), in interleaved rounds: each round runs both, one after the other, each in a fresh
process, so a change in the machine's load hits both sides alike. Writes the per-round figures,
the medians, and the median and range of the per-round speed ratios to
benchmarks/results/decode-vs-transformers-<platform>-<date>.json.

    python benchmarks/decode_vs_transformers.py [--rounds 3]   (about 2 minutes a round)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

import _results

SIDES = {"rawweights_jax": [sys.executable, "-m", "rawweights_jax.cli", "bench", "decode", "--json"],
         "transformers": [sys.executable, str(Path(__file__).with_name("torch_reference.py")), "decode", "--json"]}
KEYS = ("cached_b1_tokens_per_second", "cached_b8_tokens_per_second")


def run(cmd: list[str]) -> dict:
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    rounds = []
    for i in range(args.rounds):
        rounds.append({side: run(cmd) for side, cmd in SIDES.items()})
        print(f"round {i + 1}: " + ", ".join(f"{side} " + " / ".join(str(r[k]) for k in KEYS)
                                             for side, r in rounds[-1].items()), file=sys.stderr)
    result = {"benchmark": "decode-vs-transformers", "rounds": args.rounds,
              "per_round": [{side: {k: r[side][k] for k in KEYS + ("bandwidth_limit_fraction",
                                                                      "cached_b1_ms_per_step_max_over_min")
                                     if k in r[side]} for side in SIDES} for r in rounds]}
    for k in KEYS:
        for side in SIDES:
            result[f"{side}_{k}"] = float(np.median([r[side][k] for r in rounds]))
        ratios = [r["rawweights_jax"][k] / r["transformers"][k] for r in rounds]
        b = k.split("_")[1]
        result[f"{b}_speedup_median"] = round(float(np.median(ratios)), 3)
        result[f"{b}_speedup_range"] = [round(min(ratios), 3), round(max(ratios), 3)]
    result.update(_results.stamp("decode_vs_transformers.py", argv, "rawweights_jax/bench/decode.py"))
    out = _results.write(args.out or _results.default_path("decode-vs-transformers"), result)
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
