"""How long the site takes to build: cold, unchanged, and after editing one snippet.

    python3 dev.py bench                       # or: .venv/bin/python benchmarks/site_build.py
    python3 dev.py bench --snippet snippets/robot/softmax_temperature.py --keep-shared

Three strict builds into a temporary folder, with a cache of their own (the repository's
`.cache` is not touched, unless `--keep-shared` reuses its shared results, e.g. a trained model):

1. cold: empty cache, every snippet and notebook executed (target: at most 10 minutes);
2. no change: everything from the cache (target: at most 20 s);
3. one snippet edited (a comment appended, removed again afterwards): that snippet runs again
   (target: its own run time plus at most 20 s).

Prints the figures and the targets; exits 1 when a build fails. A benchmark reports, it does
not assert: the targets are shown next to the numbers for the reader to judge.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(site_dir: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        sys.exit(f"benchmark: the build failed:\n{log}")
    return seconds, log


def snippet_seconds(log: str, snippet: str) -> float | None:
    """The run time the build report gives for `snippet` (it lists the five slowest)."""
    m = re.search(rf"rwsite:\s+([\d.]+) s\s+[\d.]+ CPU-s\s+{re.escape(snippet)}\s+\(fresh", log)
    return float(m[1]) if m else None


def first_used_snippet() -> str:
    for page in sorted((ROOT / "docs").rglob("*.md")):
        m = re.search(r'^\s*```snippet path="([^"]+)"', page.read_text(encoding="utf-8"), re.M)
        if m:
            return m[1]
    sys.exit("benchmark: no page embeds a snippet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snippet", help="the snippet to edit (default: the first one a page embeds)")
    parser.add_argument("--keep-shared", action="store_true",
                        help="reuse the repository's .cache/shared (a trained model) in the cold build")
    args = parser.parse_args()
    snippet = args.snippet or first_used_snippet()
    snippet_path = ROOT / snippet

    with tempfile.TemporaryDirectory(prefix="rw-bench-") as tmp:
        env = dict(os.environ, RWSITE_CACHE_DIR=str(Path(tmp) / "cache"), NO_MKDOCS_2_WARNING="1")
        if args.keep_shared:
            env["RWSITE_SHARED_DIR"] = str(ROOT / ".cache" / "shared")
        site = Path(tmp) / "site"
        print(f"benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}", flush=True)
        cold, cold_log = build(site, env)
        print(f"  cold build (empty cache)      {cold:7.1f} s   target <= 600 s", flush=True)
        unchanged, _ = build(site, env)
        print(f"  rebuild, nothing changed      {unchanged:7.1f} s   target <= 20 s", flush=True)
        original = snippet_path.read_bytes()
        try:
            snippet_path.write_bytes(original + f"\n# benchmark edit {time.time()}\n".encode())
            edited, edited_log = build(site, env)
        finally:
            snippet_path.write_bytes(original)
        run = snippet_seconds(edited_log, snippet)
        if run is None:
            print(f"  rebuild, {snippet} edited: {edited:.1f} s (its run time was not in the report)")
        else:
            print(f"  rebuild, one snippet edited   {edited:7.1f} s   = its run {run:.1f} s + {edited - run:.1f} s"
                  f"   target: run + <= 20 s   ({snippet})")
        report = [line.split("rwsite: ", 1)[1] for line in cold_log.splitlines() if "rwsite: snippets:" in line]
        if report:
            print(f"  cold build report: {report[0]}")


if __name__ == "__main__":
    main()
