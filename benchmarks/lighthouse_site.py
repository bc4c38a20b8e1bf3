"""Lighthouse on every page of the built site: accessibility, best practices and performance.

    python benchmarks/lighthouse_site.py [--site site] [--pages PATH ...] [--json] [--out FILE]

Serves the built site (`python3 dev.py site` first) on a free loopback port, runs Google's
Lighthouse (npm's `lighthouse`, pinned below and installed under `.cache/node` on first use)
against a headless Chromium (`$CHROME_PATH`, else Debian's `/usr/bin/chromium`) with its
default mobile settings, and prints one row per page: the three scores, the total blocking
time, the bytes transferred, and the audits that failed. `--out` writes the figures, with the
device, date, command and commit, to a result file (`benchmarks/results/`).

This is a benchmark, not a test: performance scores move with the machine's load. The
accessibility rules that failed before are checked for real by the browser test
(`tests/test_site_browser.py`), which needs no Node.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _results  # noqa: E402

ROOT = _results.ROOT
LIGHTHOUSE = "lighthouse@12.8.2"   # 13.x wants Node >= 22; Debian 13 ships Node 20
NODE_DIR = ROOT / ".cache" / "node"
CATEGORIES = ("performance", "accessibility", "best-practices")
SKIP = ("reference/",)             # generated API pages: not articles


def lighthouse_bin() -> Path:
    """The pinned Lighthouse, installed into .cache/node on first use."""
    exe = NODE_DIR / "node_modules" / ".bin" / "lighthouse"
    if exe.exists():
        return exe
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("lighthouse_site: npm not found; install Node.js (Debian: apt-get install npm)")
    print(f"installing {LIGHTHOUSE} into {NODE_DIR} ...", file=sys.stderr)
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(NODE_DIR), LIGHTHOUSE],
                   check=True, stdout=sys.stderr)
    return exe


def chromium() -> str:
    for candidate in (os.environ.get("CHROME_PATH"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("google-chrome")):
        if candidate and Path(candidate).exists():
            return candidate
    sys.exit("lighthouse_site: no Chromium; install Debian's (apt-get install chromium) "
             "or set CHROME_PATH")


def article_pages(site: Path) -> list[str]:
    """Every page of the built site (as a URL path), the API reference left out."""
    pages = []
    for html in sorted(site.rglob("index.html")):
        rel = html.parent.relative_to(site).as_posix()
        path = "" if rel == "." else rel + "/"
        if not path.startswith(SKIP):
            pages.append(path)
    return pages


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def serve(site: Path) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def audit(exe: Path, chrome: str, url: str) -> dict:
    """One Lighthouse run on `url`: scores (0-100), blocking time, bytes, failed audits."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        run = subprocess.run(
            [str(exe), url, "--quiet", "--output=json", f"--output-path={out}",
             f"--only-categories={','.join(CATEGORIES)}",
             "--chrome-flags=--headless=new --no-sandbox --disable-gpu"],
            env={**os.environ, "CHROME_PATH": chrome}, capture_output=True, text=True, timeout=300)
        if run.returncode != 0 or not out.exists():
            raise RuntimeError(f"lighthouse failed on {url}: {run.stderr.strip()[-600:]}")
        report = json.loads(out.read_text())
    scores = {k: round(100 * report["categories"][k]["score"]) for k in CATEGORIES}
    failed = sorted(
        a["id"] for k in ("accessibility", "best-practices")
        for ref in report["categories"][k]["auditRefs"]
        if ref["weight"] > 0 and (a := report["audits"][ref["id"]]).get("score") is not None
        and a["score"] < 1)
    audits = report["audits"]
    return {**scores,
            "total_blocking_time_ms": round(audits["total-blocking-time"]["numericValue"]),
            "largest_contentful_paint_ms": round(audits["largest-contentful-paint"]["numericValue"]),
            "transfer_bytes": round(audits["total-byte-weight"]["numericValue"]),
            "failed_audits": failed}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site", help="the built site (default: site/)")
    parser.add_argument("--pages", nargs="*", help="URL paths to check (default: every article page)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--out", type=Path, help="write the result file here")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").exists():
        sys.exit(f"lighthouse_site: no built site at {args.site}; run python3 dev.py site first")
    exe, chrome = lighthouse_bin(), chromium()
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True).stdout.strip()
    pages = args.pages if args.pages is not None else article_pages(args.site)
    server = serve(args.site)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    rows = {}
    try:
        for path in pages:
            rows[path or "/"] = row = audit(exe, chrome, base + path)
            if not args.json:
                print(f"{path or '/':45s} perf {row['performance']:3d}  a11y {row['accessibility']:3d}  "
                      f"bp {row['best-practices']:3d}  TBT {row['total_blocking_time_ms']:5d} ms  "
                      f"{row['transfer_bytes'] / 1e3:7.0f} kB  {' '.join(row['failed_audits'])}",
                      flush=True)
    finally:
        server.shutdown()
    result = {**_results.stamp("lighthouse_site.py", argv), "lighthouse": version,
              "chromium": subprocess.run([chrome, "--version"], capture_output=True, text=True).stdout.strip(),
              "form_factor": "mobile (Lighthouse defaults: Moto G Power, slow 4G, 4x CPU slowdown)",
              "min_accessibility": min(r["accessibility"] for r in rows.values()),
              "min_best_practices": min(r["best-practices"] for r in rows.values()),
              "pages": rows}
    if args.json:
        print(json.dumps(result, indent=1))
    if args.out:
        _results.write(args.out, result)
    return result


if __name__ == "__main__":
    main()
