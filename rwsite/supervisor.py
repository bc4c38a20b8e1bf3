"""Run one command and, when it ends or is stopped, end every process it started.

Usage (the executor does this): ``python rwsite/supervisor.py COMMAND [ARGS...]``

A snippet may start processes of its own (a data loader, a server, `subprocess.Popen` left
running), and some of those leave its process group (`setsid`) or lose their parent (a double
fork), so neither killing the group nor waiting for the direct child finds them. On Linux this
process makes itself a *child subreaper* (`prctl(PR_SET_CHILD_SUBREAPER)`): every orphan below
it is re-parented to it instead of to PID 1, so the tree under it stays complete, and whatever
is left of that tree when the command exits (or when the executor sends SIGTERM at a timeout)
is found by walking `/proc` and killed with SIGKILL, round after round until none is left.

This process does nothing else and never runs snippet code, so it answers SIGTERM at once,
even while the snippet is stuck inside compiled code. It also asks for SIGTERM when the build
that started it dies (`PR_SET_PDEATHSIG`): a killed `mkdocs build` leaves no snippet running. Where `prctl` is missing (not Linux) it
kills the command only, and the executor kills the process group after it; descendants that
left the group may then survive.
The exit status is the command's (128 + N when killed by signal N).
"""

import ctypes
import os
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def prctl(option: int, value: int) -> bool:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def become_subreaper() -> bool:
    """Ask the kernel to re-parent orphaned descendants to this process (Linux only)."""
    return prctl(PR_SET_CHILD_SUBREAPER, 1)


def follow_parent(parent: int) -> bool:
    """Get SIGTERM when the build that started us dies (killed, crashed), so that its snippets
    do not run on without it; False when it died before we asked."""
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    return os.getppid() == parent


def descendants(root: int) -> set[int]:
    """Live processes below `root`, from the parent links in /proc (empty where there is none)."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return set()
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue  # it ended while we looked
        if fields[0] != b"Z":  # a zombie is dead already; reaping it is enough
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def reap() -> None:
    """Collect every exited child (orphans re-parented here included) without blocking."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_tree(rounds: int = 100) -> None:
    """SIGKILL everything below this process until nothing is left (a fork may race a round)."""
    me = os.getpid()
    for _ in range(rounds):
        alive = descendants(me)
        if not alive:
            break
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        reap()
    reap()


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    parent = os.getppid()
    become_subreaper()
    child = subprocess.Popen(argv)  # inherits our stdin, stdout and stderr

    def stop(signum, frame):
        child.kill()  # where /proc is missing, at least the command itself ends
        kill_tree()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if not follow_parent(parent):
        stop(signal.SIGTERM, None)
    code = child.wait()
    kill_tree()
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
