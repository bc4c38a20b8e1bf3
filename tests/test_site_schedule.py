"""Scheduling cache misses: recorded run times, shared results first, longest first, no worker
idle on a shared-result lock while other work waits."""

from __future__ import annotations

import json

import pytest

from _site_support import make_project
from rwsite.executor import Run
from rwsite.schedule import plan


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path)


def test_plan_starts_shared_builders_then_longest_then_unknown_first_among_equals():
    known = {
        "quick.py": {"wall_s": 2.0, "shared": {}},
        "slow.py": {"wall_s": 50.0, "shared": {}},
        "reader.py": {"wall_s": 101.0, "shared": {"student": {"built": False, "seconds": 99.0}}},
        "trainer.py": {"wall_s": 110.0, "shared": {"student": {"built": True, "seconds": 100.0}}},
    }
    # reader.py has 2 s of its own work, trainer.py 10 s: trainer.py leads "student" (and builds it).
    assert plan(["quick.py", "slow.py", "reader.py", "new.py", "trainer.py"], known) == \
        ["trainer.py", "new.py", "slow.py", "quick.py", "reader.py"]


STAMP = """
import time
from pathlib import Path
start = time.time()
{body}
with open({log!r}, "a") as fh:
    fh.write(f"{{Path(__file__).stem}} {{start:.3f}} {{time.time():.3f}}\\n")
"""

SHARED = """
import time
from rwsite.shared import shared

def build(out):
    time.sleep(4)
    (out / "done").write_text("yes")

shared("slowly-built", build=build)
"""


def intervals(log) -> dict[str, list[tuple[float, float]]]:
    found: dict[str, list[tuple[float, float]]] = {}
    for line in log.read_text().splitlines():
        name, start, end = line.split()
        found.setdefault(name, []).append((float(start), float(end)))
    return found


def test_no_worker_idles_on_a_shared_lock_while_work_waits(project, tmp_path, monkeypatch):
    """Two snippets need one unbuilt shared result, a third needs none, two workers. Waiting
    on the lock would hold the second worker for the whole build while `other` waits; instead
    the waiting snippet gives way, `other` runs beside the build, and the waiter runs again
    when a worker is free (waiting on the lock then, as nothing else is left to do)."""
    monkeypatch.setenv("RWSITE_SHARED_DIR", str(tmp_path / "shared"))
    log = tmp_path / "log"
    for name in ("first", "second"):
        project.write(f"snippets/a/{name}.py", STAMP.format(body=SHARED, log=str(log)))
    project.write("snippets/a/other.py", STAMP.format(body="time.sleep(2)", log=str(log)))
    executor = project.executor(jobs=2)
    runs = [Run("snippets/a/first.py"), Run("snippets/a/second.py"), Run("snippets/a/other.py")]
    executor.prefetch(runs)
    assert all(executor.outcomes[r].error is None for r in runs), [executor.outcomes[r].error for r in runs]
    seen = intervals(log)
    builder, waiter = sorted(["first", "second"], key=lambda n: seen[n][0][1])  # the builder ends first
    (build_start, build_end), (other_start, _) = seen[builder][0], seen["other"][0]
    assert other_start < build_end - 1, "`other` waited while a worker sat on the lock"
    assert seen[waiter][-1][1] >= build_end   # it read the result the builder made
    built = [e for r in runs for e in executor.outcomes[r].shared if e["built"]]
    assert len(built) == 1 and built[0]["seconds"] >= 4


def test_run_times_are_recorded_and_survive_eviction(project):
    project.write("snippets/a/one.py", "import time\ntime.sleep(0.5)\n")
    executor = project.executor()
    executor.get(Run("snippets/a/one.py"))
    assert executor.evict(keep=set()) == 1
    timings = json.loads((project.cache / "timings.json").read_text())
    assert timings["snippets/a/one.py"]["wall_s"] >= 0.5 and timings["snippets/a/one.py"]["shared"] == {}


def test_misses_start_longest_first_from_recorded_times(project, tmp_path):
    log = tmp_path / "order"
    for name, seconds in (("short", 0.1), ("long", 1.5), ("middle", 0.8)):
        project.write(f"snippets/a/{name}.py", STAMP.format(body=f"time.sleep({seconds})", log=str(log)))
    runs = [Run(f"snippets/a/{n}.py") for n in ("short", "long", "middle")]
    project.executor(jobs=1).prefetch(runs)          # first build: no history, page order
    for path in (project.cache / "snippets").glob("*.json"):
        path.unlink()                                 # everything is a miss again
    log.unlink()
    project.executor(jobs=1).prefetch(runs)
    assert [line.split()[0] for line in log.read_text().splitlines()] == ["long", "middle", "short"]


def test_several_calls_for_one_result_are_counted_together():
    """A snippet that builds a result and then looks it up again built it (a real build's
    robot student was once recorded as 'not built' by the snippet that had trained it)."""
    from rwsite.schedule import by_name

    events = [{"name": "student", "built": True, "seconds": 200.0, "cpu_s": 390.0},
              {"name": "student", "built": False, "seconds": 0.0, "cpu_s": 0.01}]
    assert by_name(events) == {"student": {"built": True, "seconds": 200.0, "cpu_s": 390.01}}


def test_on_a_first_build_one_snippet_per_shared_result_starts_first(tmp_path):
    """With nothing recorded, the names in the `shared("...")` calls a snippet reaches stand in."""
    from rwsite.schedule import guess_shared

    helper = tmp_path / "_runs.py"
    helper.write_text("from rwsite.shared import shared\n\n"
                      "def _folder():\n    return shared('students', build=print)\n\n"
                      "def student_runs():\n    return _folder()\n\n"
                      "def norm_runs():\n    return shared(name='norms', build=print)\n\nLRS = (1, 2)\n")
    for name, body in {"a": "from _runs import student_runs", "b": "from _runs import LRS, norm_runs",
                       "c": "import _runs\n_runs.student_runs()", "d": "print('alone')"}.items():
        (tmp_path / f"{name}.py").write_text(body + "\n")
    hints = {f"{n}.py": guess_shared(tmp_path / f"{n}.py", [helper]) for n in "abcd"}
    assert hints == {"a.py": ["students"], "b.py": ["norms"], "c.py": ["students"], "d.py": []}
    assert plan(["d.py", "c.py", "b.py", "a.py"], {}, hints) == ["b.py", "a.py", "d.py", "c.py"]
