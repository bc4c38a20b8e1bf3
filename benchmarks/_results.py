"""What every benchmark result file records besides its numbers: the device, the date, the
command, the library commit (marked when the working tree differs), and how it is written.

A result file is read by a page (a snippet names it by a literal path) and committed, so it
must say where it came from: `stamp()` gives those fields, `write()` puts the file in place
atomically (a killed run leaves the previous file, never half of one). The result files live
in `benchmarks/results/`, named `<benchmark>-<platform>-<date>.json`.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def device() -> str:
    """`cpu: <model name>, <n> cores`, or the accelerator's platform and kind."""
    import jax

    first = jax.devices()[0]
    if first.platform != "cpu":
        return f"{first.platform}: {first.device_kind} x {len(jax.devices())}"
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    return f"cpu: {cpu or platform.machine()}, {os.cpu_count()} cores"


def commit(*paths: str) -> str:
    """The short commit of HEAD, marked when `paths` (the library, the benchmark) differ from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "rawweights_jax", *paths],
                               cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"
    return (head.stdout.strip() or "unknown") + (" (with uncommitted changes)" if dirty else "")


def stamp(script: str, argv: list[str] | None, *paths: str) -> dict:
    """The provenance fields of a result file made by `benchmarks/<script>` run with `argv`."""
    import jax

    args = argv if argv is not None else sys.argv[1:]
    return {"device": device(), "date": datetime.date.today().isoformat(),
            "command": shlex.join(["python", f"benchmarks/{script}", *args]),
            "commit": commit(f"benchmarks/{script}", *paths), "jax": jax.__version__,
            "python": platform.python_version()}


def default_path(benchmark: str) -> Path:
    import jax

    today = datetime.date.today().isoformat()
    return RESULTS / f"{benchmark}-{jax.devices()[0].platform}-{today}.json"


def write(out: Path, result: dict) -> Path:
    """Write `result` to `out` as indented JSON, atomically."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    tmp.replace(out)
    return out
