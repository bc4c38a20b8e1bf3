"""Shared results: built once per content hash, under a lock, atomically."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from rwsite.shared import shared


@pytest.fixture
def env(tmp_path, monkeypatch):
    library = tmp_path / "lib"
    library.mkdir()
    (library / "model.py").write_text("A = 1\n")
    monkeypatch.setenv("RWSITE_SHARED_DIR", str(tmp_path / "shared"))
    monkeypatch.setenv("RWSITE_LIBRARY_DIR", str(library))
    return tmp_path


def write_answer(out):
    (out / "answer.txt").write_text("42")


def test_builds_once_then_reuses(env):
    calls = []

    def build(out):
        calls.append(out)
        write_answer(out)

    first = shared("answer", key_parts=["v1"], build=build)
    second = shared("answer", key_parts=["v1"], build=build)
    assert first == second and (first / "answer.txt").read_text() == "42"
    assert len(calls) == 1 and first.name.startswith("answer-")
    assert not calls[0].exists()  # built in a temporary folder, renamed into place


def test_key_parts_and_library_source_change_the_result(env):
    base = shared("answer", key_parts=["v1"], build=write_answer)
    assert shared("answer", key_parts=["v2"], build=write_answer) != base


def test_only_library_modules_reached_from_the_recipe_change_the_result(env, monkeypatch):
    """Keyed like a snippet: by what the file defining `build` reaches, not the whole library."""
    (env / "lib" / "cli.py").write_text("COMMAND = 'train'\n")
    (env / "recipes").mkdir()
    (env / "recipes" / "recipe.py").write_text(
        "from lib.model import A\n\n\ndef build(out):\n    (out / 'a.txt').write_text(str(A))\n")
    monkeypatch.syspath_prepend(str(env / "recipes"))
    monkeypatch.syspath_prepend(str(env))
    import recipe

    first = shared("trained", build=recipe.build)
    (env / "lib" / "cli.py").write_text("COMMAND = 'serve'\n")     # not reached: reused
    assert shared("trained", build=recipe.build) == first
    (env / "lib" / "model.py").write_text("A = 2\n")               # reached: built anew
    assert shared("trained", build=recipe.build) != first


def test_a_failed_build_leaves_nothing_behind(env):
    def broken(out):
        (out / "half.txt").write_text("half")
        raise RuntimeError("training diverged")

    with pytest.raises(RuntimeError, match="training diverged"):
        shared("broken", build=broken)
    leftovers = [p.name for p in (env / "shared").iterdir() if not p.name.endswith(".lock")]
    assert leftovers == []


def test_bad_name_is_refused(env):
    with pytest.raises(ValueError, match="shared result name 'a/b'"):
        shared("a/b", build=write_answer)


def test_two_processes_at_once_build_once(env):
    counter = env / "builds"
    script = textwrap.dedent(f"""
        import time
        from rwsite.shared import shared

        def build(out):
            with open({str(counter)!r}, "a") as fh:
                fh.write("built\\n")
            time.sleep(1.0)          # long enough for the other process to arrive and wait
            (out / "weights.bin").write_bytes(b"w" * 1000)

        print(shared("student", key_parts=[1], build=build))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
             for _ in range(3)]
    outputs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    assert len(set(outputs)) == 1
    assert counter.read_text().splitlines() == ["built"]


def test_under_deferral_a_busy_lock_gives_way_instead_of_waiting(env):
    """The executor sets RWSITE_SHARED_DEFER=1 when other work waits: the second caller ends
    at once (SharedBusy), and is run again once the result is there (rwsite.schedule)."""
    script = textwrap.dedent("""
        import sys, time
        from rwsite import shared as module

        def build(out):
            time.sleep(3)
            (out / "weights.bin").write_bytes(b"w")

        start = time.perf_counter()
        try:
            module.shared("student", build=build)
            print("got it", module.EVENTS[0]["built"], round(time.perf_counter() - start, 1))
        except module.SharedBusy as busy:
            print("busy", busy.args[0], round(time.perf_counter() - start, 1))
    """)
    builder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    time.sleep(1.0)
    waiter = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "RWSITE_SHARED_DEFER": "1"})
    word, name, seconds = waiter.stdout.split()
    assert (word, name) == ("busy", "student") and float(seconds) < 1.5, waiter.stdout + waiter.stderr
    assert builder.communicate(timeout=60)[0].split()[:2] == ["got", "it"]
