#!/usr/bin/env python3
"""One entry point for working on Raw Weights; needs only Python 3.11+ with pip (stdlib only).

    python3 dev.py test [PYTEST ARGS]   run the tests, one worker process per core (at most 4)
    python3 dev.py site [MKDOCS ARGS]   build the site into site/, strictly, every snippet run
    python3 dev.py serve [MKDOCS ARGS]  build and serve it on http://127.0.0.1:8000, live reload
    python3 dev.py bench                time cold, no-change and one-snippet-edit site builds
    python3 dev.py lock                 rewrite constraints.txt from the packages now in .venv

Every command first makes sure `.venv` exists and holds the project (editable) with its `test`,
`docs` and `serve` extras, every package pinned by `constraints.txt`. With RAWWEIGHTS_HF=1 it also
installs the `hf` extra (torch, transformers), so the parity tests run instead of skipping.
The install is skipped when a stamp in `.venv` matches the hash of `pyproject.toml`,
`constraints.txt` and the extras, so only the first run on a fresh clone (or after a change)
pays for it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".rawweights-install-stamp"
CONSTRAINTS = ROOT / "constraints.txt"
# Packaging tools are left to the venv; the project's own package is installed editable.
UNPINNED = {"pip", "setuptools", "wheel", "rawweights-jax", "rawweights_jax"}


def say(message: str) -> None:
    print(f"dev.py: {message}", file=sys.stderr, flush=True)


def run(*cmd: str | Path, **kwargs) -> None:
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, **kwargs)
    if result.returncode != 0:
        raise SystemExit(result.returncode)


def extras() -> str:
    return "test,docs,serve,data,hf" if os.environ.get("RAWWEIGHTS_HF") == "1" else "test,docs,serve,data"


def stamp_value() -> str:
    h = hashlib.sha256(extras().encode())
    for path in (ROOT / "pyproject.toml", CONSTRAINTS):
        h.update(path.read_bytes() if path.exists() else b"missing")
    return h.hexdigest()


def venv_works() -> bool:
    """A .venv whose Python starts and has pip (one whose creation was interrupted has none)."""
    if not PYTHON.exists():
        return False
    return subprocess.run([str(PYTHON), "-c", "import pip"], capture_output=True).returncode == 0


def ensure_venv() -> None:
    """Create .venv if needed and install the project pinned by constraints.txt if it changed."""
    if sys.version_info < (3, 11):
        raise SystemExit(f"dev.py: Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    if not venv_works():
        say(f"creating {VENV.relative_to(ROOT)} with {sys.executable}")
        venv.EnvBuilder(with_pip=True, clear=VENV.exists()).create(VENV)
    if STAMP.exists() and STAMP.read_text().strip() == stamp_value():
        return
    if not CONSTRAINTS.exists():
        raise SystemExit("dev.py: constraints.txt is missing; restore it from git (or run `python3 dev.py lock`)")
    say(f"installing the project and its extras [{extras()}], pinned by constraints.txt")
    run(PYTHON, "-m", "pip", "install", "--disable-pip-version-check", "-c", CONSTRAINTS,
        "-e", f".[{extras()}]")
    STAMP.write_text(stamp_value() + "\n")


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("JAX_PLATFORMS", "cpu")
    env.setdefault("NO_MKDOCS_2_WARNING", "1")  # Material's banner about its successor
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


MAX_TEST_WORKERS = 4


def pytest_args(args: list[str]) -> list[str]:
    """pytest's arguments: the caller's, plus parallel workers unless the caller chose.

    The tests run in one process per core, at most MAX_TEST_WORKERS (pytest-xdist). The tests
    that build the real site or run every snippet share that work and stay together in one
    worker while the others take the rest (tests/_xdist_support.py). `-n 0` runs everything in
    this process, as plain `pytest` does.
    """
    if any(a.startswith(("-n", "--numprocesses", "--dist")) or a == "no:xdist" for a in args):
        return args
    workers = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
                  MAX_TEST_WORKERS)
    return ["-n", str(workers), *args] if workers > 1 else args


def lock() -> None:
    """Write constraints.txt: every installed distribution but the project itself, pinned."""
    out = subprocess.run([str(PYTHON), "-m", "pip", "list", "--format=freeze", "--exclude-editable",
                          "--disable-pip-version-check"], capture_output=True, text=True, check=True).stdout
    # A local build label (torch's "+cpu") is dropped: "torch==2.13.0" still matches that
    # build where it is on disk, and means the registry's 2.13.0 elsewhere.
    pins = sorted((line.split("+")[0] for line in out.splitlines()
                   if "==" in line and line.split("==")[0].lower() not in UNPINNED), key=str.lower)
    header = ("# Every package of the dev environment, pinned (python3 dev.py lock rewrites this file).\n"
              "# dev.py installs with `pip install -c constraints.txt -e .[test,docs,serve,data]` (plus `hf` when\n"
              "# RAWWEIGHTS_HF=1).\n")
    CONSTRAINTS.write_text(header + "\n".join(pins) + "\n")
    STAMP.write_text(stamp_value() + "\n")
    say(f"wrote {len(pins)} pins to constraints.txt")


def main(argv: list[str]) -> int:
    commands = ("test", "site", "serve", "bench", "lock")
    if not argv or argv[0] not in commands:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    command, args = argv[0], argv[1:]
    if command == "lock":
        if not venv_works():
            raise SystemExit("dev.py: no working .venv to lock; run another command first")
        lock()
        return 0
    ensure_venv()
    env = environment()
    if command == "test":
        cmd = [PYTHON, "-m", "pytest", *pytest_args(args)]
    elif command == "site":
        cmd = [BIN / "mkdocs", "build", "--strict", *args]
    elif command == "serve":
        cmd = [BIN / "mkdocs", "serve", "--strict", "--dev-addr", "127.0.0.1:8000", *args]
    else:
        cmd = [PYTHON, "benchmarks/site_build.py", *args]
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
