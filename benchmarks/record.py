"""Run a `rawweights bench NAME` and keep its JSON in benchmarks/results/NAME-<platform>-<date>.json,
stamped with the device, date, command and commit (benchmarks/_results.py).

    python benchmarks/record.py roofline
    python benchmarks/record.py speculative --ks 1,2,3,4,6 --out-file FILE
    python benchmarks/record.py NAME [--out-file FILE] [any option of `rawweights bench NAME`]

The benchmark runs in this process through the command line's own parser (so its options and
errors are the command's), with one XLA device per core as the command gets them.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import _results


def main(argv: list[str]) -> Path:
    if not argv or argv[0].startswith("-"):
        sys.exit(f"usage: python benchmarks/record.py NAME [--out-file FILE] [options of rawweights bench NAME]")
    name, rest = argv[0], list(argv[1:])
    out = None
    if "--out-file" in rest:
        i = rest.index("--out-file")
        out = Path(rest[i + 1])
        del rest[i:i + 2]
    from rawweights_jax.cli.main import main as rawweights

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = rawweights(["bench", name, *rest, "--json"])
    if status:
        sys.exit(status)
    result = json.loads(printed.getvalue().strip().splitlines()[-1])
    result.update(_results.stamp("record.py", argv, f"rawweights_jax/bench/{name}.py"))
    path = _results.write(out or _results.default_path(name), result)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main(sys.argv[1:])
