"""Shared results: built once per content hash, under a lock, atomically."""

from __future__ import annotations

import subprocess
import sys
import textwrap

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
    (env / "lib" / "model.py").write_text("A = 2\n")
    assert shared("answer", key_parts=["v1"], build=write_answer) != base


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
