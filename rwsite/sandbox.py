"""One snippet process, fenced in: a scratch folder, a small environment, capped output, no leftovers.

What a snippet may rely on is what `python snippets/x/y.py` gives it anywhere: its own folder on
`sys.path`, the installed packages, and the few variables below. So it runs

- in a scratch working folder (empty, deleted afterwards): a snippet that reads or writes
  relative paths fails in the build, not only on someone else's machine. Files of the
  repository are reached from `__file__` (or `$RWSITE_REPO`);
- with a minimal environment: `PASSED_THROUGH` from the caller's (when set) plus the
  executor's own settings. A variable a snippet needs but that is not listed fails in the
  build, where it is seen, instead of changing outputs silently between machines;
- under `rwsite/supervisor.py`, which ends every process the snippet started when it ends, and
  in a session of its own, killed as a group as well;
- with stdout and stderr read through pipes and capped: past `max_output` bytes together the
  run is stopped and reported, so a runaway print loop cannot make a 50 MB page.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SUPERVISOR = Path(__file__).resolve().parent / "supervisor.py"

#: Variables a snippet legitimately needs from the caller's environment. Everything else the
#: snippet sees is set by the executor (JAX_PLATFORMS, seeds, the figure backend, caches).
PASSED_THROUGH = (
    "PATH", "HOME", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",  # a working process
    "XDG_CACHE_HOME", "RAWWEIGHTS_DATA_DIR",  # where the library finds (or downloads) data
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
    "SSL_CERT_FILE", "SSL_CERT_DIR",  # a download through the network in use
    "CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH",  # which accelerator, and its libraries
)

STOP_GRACE_S = 10.0


@dataclass
class Finished:
    """How a process ended and what it printed (up to the cap)."""

    returncode: int | None
    stdout: bytes
    stderr: bytes
    wall_s: float
    cpu_s: float = 0.0  # user + system time of the process and everything below it
    timed_out: bool = False
    output_bytes: int = 0  # all it printed, also past the cap
    over_cap: bool = False


def minimal_environment(settings: dict[str, str], source: dict[str, str] | None = None) -> dict[str, str]:
    """PASSED_THROUGH from `source` (default: this process's environment), then `settings`."""
    source = os.environ if source is None else source
    env = {name: source[name] for name in PASSED_THROUGH if name in source}
    env.update(settings)
    return env


class _Capture(threading.Thread):
    """Drains one pipe, keeping bytes while the shared budget lasts (draining on after it)."""

    def __init__(self, fd: int, budget: "_Budget"):
        super().__init__(daemon=True)
        self.fd, self.budget, self.data = fd, budget, bytearray()

    def run(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            self.data += chunk[: self.budget.take(len(chunk))]


class _Budget:
    def __init__(self, cap: int):
        self.cap, self.total, self.lock, self.exceeded = cap, 0, threading.Lock(), threading.Event()

    def take(self, n: int) -> int:
        with self.lock:
            keep = max(0, min(n, self.cap - self.total))
            self.total += n
            if self.total > self.cap:
                self.exceeded.set()
            return keep


def run(argv: list[str], *, cwd: Path, env: dict[str, str], timeout: float, max_output: int) -> Finished:
    """Run `argv` under the supervisor; stop it at `timeout` seconds or past `max_output` bytes."""
    budget = _Budget(max_output)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    start = time.perf_counter()
    try:
        proc = subprocess.Popen([argv[0], str(SUPERVISOR), *argv], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=out_w, stderr=err_w, start_new_session=True)
    finally:
        os.close(out_w)
        os.close(err_w)
    readers = [_Capture(out_r, budget), _Capture(err_r, budget)]
    for reader in readers:
        reader.start()
    timed_out = _wait(proc, start + timeout, budget.exceeded)
    wall_s = time.perf_counter() - start
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the group, while its leader is unreaped: its id is ours still
    except (ProcessLookupError, PermissionError):
        pass
    # wait4 reaps it with its resource usage, which includes every descendant it reaped (the
    # supervisor reaps them all): the CPU time of the whole run, whatever ran beside it.
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join(timeout=5)  # EOF once every writer is gone; a survivor elsewhere cannot hold us
    for fd in (out_r, err_r):
        os.close(fd)
    return Finished(returncode, bytes(readers[0].data), bytes(readers[1].data), wall_s,
                    usage.ru_utime + usage.ru_stime, timed_out, budget.total, budget.exceeded.is_set())


def _wait(proc: subprocess.Popen, deadline: float, exceeded: threading.Event) -> bool:
    """Wait for `proc` to exit without reaping it; stop it at the deadline or past the cap.
    Returns whether the deadline stopped it."""
    pause = 0.01
    while not _exited(proc.pid):
        if exceeded.is_set() or time.perf_counter() >= deadline:
            _stop(proc)
            return not exceeded.is_set()
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
    return False


def _exited(pid: int) -> bool:
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the supervisor (it kills the tree below it), SIGKILL the group if it lingers."""
    try:
        proc.send_signal(signal.SIGTERM)
    except ProcessLookupError:
        return
    end = time.perf_counter() + STOP_GRACE_S
    while not _exited(proc.pid) and time.perf_counter() < end:
        time.sleep(0.05)
    if not _exited(proc.pid):
        os.killpg(proc.pid, signal.SIGKILL)
        while not _exited(proc.pid):
            time.sleep(0.01)
