"""Start `rawweights serve` in a child process on a free 127.0.0.1 port and wait until it
answers /health: what the serving tests, `rawweights bench serve` and the Serving page's live
snippet each need, written once."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(ckpts: list[Path], *args: str, timeout: float = 60.0,
           stderr=subprocess.DEVNULL) -> tuple[subprocess.Popen, str]:
    """(process, base URL) of a server for `ckpts` with extra command-line `args`, once it is up.
    With `stderr=subprocess.PIPE` a server that exits early reports what it printed."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "rawweights_jax.cli", "serve", "--port", str(port),
                             *[a for c in ckpts for a in ("--ckpt", str(c))], *args],
                            stderr=stderr, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            said = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"rawweights serve exited with status {proc.returncode}: {said}".strip())
        try:
            with urllib.request.urlopen(url + "/health", timeout=1):
                return proc, url
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"rawweights serve did not answer {url}/health within {timeout:.0f} s")


def stop(proc: subprocess.Popen, timeout: float = 60.0) -> int:
    """SIGTERM (requests in flight finish first), then the exit status."""
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout)
