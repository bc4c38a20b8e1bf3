"""The snippet executor: cache hits and misses, what invalidates an entry, failures, timeouts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _site_support import alive, counting_snippet, make_project, runs
from rwsite.executor import Run


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path)


def test_miss_runs_then_hit_reuses(project, tmp_path):
    counter = tmp_path / "count"
    project.write("snippets/a/hello.py", counting_snippet(counter, 'print("hello", 6 * 7)'))
    first = project.executor().get(Run("snippets/a/hello.py"))
    assert (first.error, first.cached, first.stdout) == (None, False, "hello 42\n")
    second = project.executor().get(Run("snippets/a/hello.py"))  # a new build: from disk
    assert (second.cached, second.stdout, second.key) == (True, "hello 42\n", first.key)
    assert runs(counter) == 1


def test_editing_the_snippet_runs_it_again(project, tmp_path):
    counter = tmp_path / "count"
    path = project.write("snippets/a/hello.py", counting_snippet(counter, "print(1)"))
    project.executor().get(Run("snippets/a/hello.py"))
    path.write_text(counting_snippet(counter, "print(2)"))
    assert project.executor().get(Run("snippets/a/hello.py")).stdout == "2\n"
    assert runs(counter) == 2


def test_library_module_change_invalidates_only_what_reaches_it(project, tmp_path):
    counter = tmp_path / "count"
    (project.library / "cli.py").write_text("COMMAND = 'train'\n")
    project.write("snippets/a/hello.py", counting_snippet(counter, f"""
import sys
sys.path.insert(0, {str(project.root)!r})
from fakelib.model import WIDTH
print(WIDTH)"""))
    project.executor().get(Run("snippets/a/hello.py"))
    (project.library / "cli.py").write_text("COMMAND = 'serve'\n")  # not reached: no re-run
    (project.library / "notes.txt").write_text("not named by any module")
    assert project.executor().get(Run("snippets/a/hello.py")).cached
    (project.library / "model.py").write_text("WIDTH = 16\n")
    assert project.executor().get(Run("snippets/a/hello.py")).stdout == "16\n"
    assert runs(counter) == 2


def test_local_helper_change_invalidates_but_sibling_does_not(project, tmp_path):
    counter = tmp_path / "count"
    project.write("snippets/a/_helper.py", "from _deeper import VALUE\n")
    deeper = project.write("snippets/a/_deeper.py", "VALUE = 1\n")
    sibling = project.write("snippets/a/other.py", "print('unrelated')\n")
    project.write("snippets/a/uses.py", counting_snippet(counter, "import _helper\nprint(_helper.VALUE)"))
    assert project.executor().get(Run("snippets/a/uses.py")).stdout == "1\n"
    sibling.write_text("print('edited')\n")
    assert project.executor().get(Run("snippets/a/uses.py")).cached
    # imported by the helper: transitively part of the key (another size: Python's bytecode
    # cache trusts a source of the same size and second)
    deeper.write_text("VALUE = 22\n")
    assert project.executor().get(Run("snippets/a/uses.py")).stdout == "22\n"
    assert runs(counter) == 2


def test_run_options_are_part_of_the_key_but_the_timeout_is_not(project):
    project.write("snippets/a/hello.py", "print(1)\n")
    executor = project.executor()
    assert executor.key(Run("snippets/a/hello.py", 10)) == executor.key(Run("snippets/a/hello.py", 20))
    assert executor.key(Run("snippets/a/hello.py")) != project.executor(seed=1).key(Run("snippets/a/hello.py"))
    assert executor.key(Run("snippets/a/hello.py")) != project.executor(platforms="cuda").key(Run("snippets/a/hello.py"))


def test_failure_names_file_line_and_is_not_cached(project):
    project.write("snippets/a/bad.py", """
        def shape_check(n):
            raise ValueError(f"bad shape ({n}, 4)")

        print("before")
        shape_check(3)
    """)
    outcome = project.executor().get(Run("snippets/a/bad.py"))
    assert outcome.error == "snippets/a/bad.py:2: ValueError: bad shape (3, 4)"
    assert outcome.stdout == "before\n"
    assert 'File "' in outcome.stderr and "runpy" not in outcome.stderr  # trimmed to the snippet
    assert not list(project.cache.glob("snippets/*.json"))


def test_syntax_error_and_exit_status_name_their_line(project):
    project.write("snippets/a/syntax.py", "x = 1\ny = (\n")
    project.write("snippets/a/exits.py", "import sys\n\nsys.exit(3)\n")
    executor = project.executor()
    assert re.fullmatch(r"snippets/a/syntax\.py:2: SyntaxError: .+", executor.get(Run("snippets/a/syntax.py")).error)
    assert executor.get(Run("snippets/a/exits.py")).error == "snippets/a/exits.py:3: SystemExit: exit status 3"


def test_error_raised_in_the_library_points_at_the_snippet_line(project):
    (project.library / "boom.py").write_text("def explode():\n    raise RuntimeError('inside')\n")
    project.write("snippets/a/calls.py", f"""
        import sys
        sys.path.insert(0, {str(project.library)!r})
        import boom
        boom.explode()
    """)
    assert project.executor().get(Run("snippets/a/calls.py")).error == "snippets/a/calls.py:4: RuntimeError: inside"


def test_timeout_stops_the_snippet_and_its_children(project, tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    project.write("snippets/a/hang.py", f"""
        import subprocess, time
        child = subprocess.Popen(["sleep", "60"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        time.sleep(60)
    """)
    start = time.monotonic()
    outcome = project.executor().get(Run("snippets/a/hang.py", timeout=2))
    assert outcome.error == "snippets/a/hang.py: timed out after 2 s"
    assert time.monotonic() - start < 20
    grandchild = int(pid_file.read_text())
    time.sleep(0.2)
    assert not alive(grandchild), "the snippet's own child outlived the timeout"


def test_corrupted_entry_is_ignored_and_rerun(project, tmp_path):
    counter = tmp_path / "count"
    project.write("snippets/a/hello.py", counting_snippet(counter))
    key = project.executor().get(Run("snippets/a/hello.py")).key
    entry = project.cache / "snippets" / f"{key}.json"
    for garbage in ('{"format": 1, "key": "trunc', json.dumps({"format": 1, "key": "another"}), "\x00\xff"):
        entry.write_text(garbage)
        outcome = project.executor().get(Run("snippets/a/hello.py"))
        assert (outcome.error, outcome.cached, outcome.stdout) == (None, False, "hello\n")
        assert json.loads(entry.read_text())["key"] == key  # rewritten whole
    assert runs(counter) == 4


def test_output_is_captured_at_the_file_descriptor_level(project):
    project.write("snippets/a/fds.py", """
        import os, subprocess, sys
        print("from print")
        os.write(1, b"from fd 1\\n")
        subprocess.run(["echo", "from a child process"])
        print("to stderr", file=sys.stderr)
        os.write(2, b"fd 2 directly\\n")
    """)
    outcome = project.executor().get(Run("snippets/a/fds.py"))
    assert outcome.stdout.splitlines() == ["from print", "from fd 1", "from a child process"]
    assert outcome.stderr.splitlines() == ["to stderr", "fd 2 directly"]


def test_runs_like_python_snippet_py_with_the_build_environment(project):
    project.write("snippets/a/env.py", """
        import json, os, random, sys
        print(json.dumps({
            "name": __name__, "argv": sys.argv, "path0": sys.path[0], "cwd": os.getcwd(),
            "jax": os.environ["JAX_PLATFORMS"], "seed": os.environ["RWSITE_SEED"],
            "hashseed": os.environ["PYTHONHASHSEED"], "random": random.random(),
        }))
    """)
    seen = json.loads(project.executor().get(Run("snippets/a/env.py")).stdout)
    assert seen["name"] == "__main__" and seen["argv"] == [str(project.root / "snippets" / "a" / "env.py")]
    assert seen["path0"] == str(project.root / "snippets" / "a")
    assert Path(seen["cwd"]).name == "work" and not Path(seen["cwd"]).is_relative_to(project.root)
    assert (seen["jax"], seen["seed"], seen["hashseed"]) == ("cpu", "0", "0")
    import random
    random.seed(0)
    assert seen["random"] == random.random()


def test_figures_are_captured_as_themeable_svg(project):
    project.write("snippets/a/plots.py", """
        import matplotlib.pyplot as plt
        for n in (1, 2):
            plt.plot(range(n + 2))
            plt.title(f"shown {n}")
            plt.show()
        plt.figure()
        plt.bar([1, 2], [3, 4])     # left open: captured at exit
    """)
    outcome = project.executor().get(Run("snippets/a/plots.py"))
    assert outcome.error is None and len(outcome.figures) == 3
    ids = []
    for svg in outcome.figures:
        assert svg.startswith("<svg") and "currentColor" in svg
        assert "#010203" not in svg and "<metadata>" not in svg
        ids += re.findall(r'\bid="([^"]+)"', svg)
    assert len(ids) == len(set(ids)), "figures inlined on one page must not share element ids"


def test_prefetch_runs_misses_in_parallel(project, tmp_path):
    log = tmp_path / "intervals"
    for name in ("one", "two"):
        project.write(f"snippets/a/{name}.py", f"""
            import time
            start = time.time(); time.sleep(1.5)
            with open({str(log)!r}, "a") as fh:
                fh.write(f"{{start}} {{time.time()}}\\n")
        """)
    executor = project.executor(jobs=2)
    executor.prefetch([Run("snippets/a/one.py"), Run("snippets/a/two.py")])
    (s1, e1), (s2, e2) = [map(float, line.split()) for line in log.read_text().splitlines()]
    assert max(s1, s2) < min(e1, e2), "the two runs did not overlap"
    assert executor.report()[0].startswith("snippets: 2 used, 0 from cache, 2 run")


def test_prefetch_reports_each_run_as_it_finishes(project):
    project.write("snippets/a/slow.py", "import time\ntime.sleep(1.5)\nprint('slow')\n")
    project.write("snippets/a/quick.py", "print('quick')\n")
    project.write("snippets/a/bad.py", "raise ValueError('no')\n")
    project.executor().get(Run("snippets/a/quick.py"))  # cached now: no progress for it
    runs = [Run("snippets/a/slow.py"), Run("snippets/a/quick.py"), Run("snippets/a/bad.py")]
    seen = []
    executor = project.executor(jobs=2)
    executor.prefetch(runs, progress=lambda done, total, o: seen.append((done, total, o.run.path, o.error)))
    assert [(d, t) for d, t, _, _ in seen] == [(1, 2), (2, 2)]
    assert [p for _, _, p, _ in seen] == ["snippets/a/bad.py", "snippets/a/slow.py"], "not in finishing order"
    assert seen[0][3] == "snippets/a/bad.py:1: ValueError: no" and seen[1][3] is None
    assert executor.get(runs[0]).stdout == "slow\n"


def test_missing_snippet_is_a_clear_error(project):
    outcome = project.executor().get(Run("snippets/nope.py"))
    assert outcome.error.startswith("snippets/nope.py: no such snippet file")


def test_eviction_keeps_only_what_was_used(project):
    for name in ("keep", "drop"):
        project.write(f"snippets/a/{name}.py", f"print({name!r})\n")
        project.executor().get(Run(f"snippets/a/{name}.py"))
    executor = project.executor()
    executor.get(Run("snippets/a/keep.py"))
    assert executor.evict() == 1
    assert [p.stem for p in (project.cache / "snippets").glob("*.json")] == [executor.get(Run("snippets/a/keep.py")).key]


def test_two_builds_at_once_do_not_corrupt_the_cache(project):
    names = [f"s{i}" for i in range(6)]
    for name in names:
        project.write(f"snippets/a/{name}.py", f"import time\ntime.sleep(0.2)\nprint({name!r} * 3)\n")
    script = f"""
import sys
from rwsite.executor import Executor, Run
e = Executor({str(project.root)!r}, library_dir={str(project.library)!r}, cache_dir={str(project.cache)!r}, jobs=2)
e.prefetch([Run(f"snippets/a/{{n}}.py") for n in {names!r}])
bad = [o for o in e.outcomes.values() if o.error or o.stdout != o.run.path.split("/")[-1][:-3] * 3 + "\\n"]
sys.exit(1 if bad else 0)
"""
    procs = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    executor = project.executor()
    for name in names:
        outcome = executor.get(Run(f"snippets/a/{name}.py"))
        assert outcome.cached and outcome.stdout == name * 3 + "\n"
    assert not list((project.cache / "snippets").glob(".*.tmp"))


@pytest.mark.parametrize("damage", [
    lambda r: r.pop("stdout"),
    lambda r: r.update(stdout=5),
    lambda r: r.update(wall_s="slow"),
    lambda r: r.update(wall_s=float("nan")),
    lambda r: r.update(figures=[1]),
    lambda r: r.update(seed="0"),
    lambda r: r.update(device=None),
    lambda r: r.update(stderr="x" * 1_000_001),
], ids=["no-stdout", "stdout-int", "wall-text", "wall-nan", "figure-int", "seed-text", "device-none", "huge"])
def test_an_entry_of_the_wrong_shape_is_a_miss_and_runs_again(project, tmp_path, damage):
    counter = tmp_path / "count"
    project.write("snippets/a/hello.py", counting_snippet(counter))
    key = project.executor().get(Run("snippets/a/hello.py")).key
    entry = project.cache / "snippets" / f"{key}.json"
    record = json.loads(entry.read_text())
    damage(record)
    entry.write_text(json.dumps(record))
    executor = project.executor()
    outcome = executor.get(Run("snippets/a/hello.py"))
    assert (outcome.error, outcome.cached, outcome.stdout) == (None, False, "hello\n")
    assert executor.report()[0].startswith("snippets: 1 used, 0 from cache, 1 run")
    assert runs(counter) == 2


def test_two_configurations_on_one_cache_do_not_evict_each_other(project):
    project.write("snippets/a/seeded.py", "import os\nprint(os.environ['RWSITE_SEED'])\n")
    project.write("snippets/a/other.py", "print('other')\n")
    run = Run("snippets/a/seeded.py")
    zero, one = project.executor(seed=0), project.executor(seed=1)
    assert (zero.get(run).stdout, one.get(run).stdout) == ("0\n", "1\n")
    assert one.evict() == 0 and zero.evict() == 0          # each keeps the other's entry
    assert project.executor(seed=0).get(run).cached and project.executor(seed=1).get(run).cached
    stale = project.executor(seed=0)
    stale.get(Run("snippets/a/other.py"))
    assert project.executor(seed=0).evict(keep={zero.key(run)}) == 1   # its own unused entry goes


def test_a_rerun_loads_compiled_programs_from_the_persistent_xla_cache(project):
    body = """
        import jax, jax.numpy as jnp
        from jax import monitoring
        hits = []
        monitoring.register_event_listener(lambda event, **kw: event == "/jax/compilation_cache/cache_hits" and hits.append(1))
        f = jax.jit(lambda x: jnp.tanh(x) @ x.T + 1.0)
        print(float(f(jnp.ones((8, 8))).sum()), "hits", len(hits))
    """
    path = project.write("snippets/a/jitted.py", body)
    first = project.executor().get(Run("snippets/a/jitted.py", timeout=120))
    assert first.error is None and first.stdout.endswith("hits 0\n"), first.stderr
    assert list((project.cache / "jax").iterdir()), "nothing was written to the XLA cache"
    path.write_text(path.read_text() + "# a comment: the snippet runs again, its programs do not compile\n")
    second = project.executor().get(Run("snippets/a/jitted.py", timeout=120))
    assert not second.cached and second.stdout.split("hits")[0] == first.stdout.split("hits")[0]
    assert not second.stdout.endswith("hits 0\n"), second.stdout
