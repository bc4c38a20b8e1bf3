"""A snippet run is fenced in: scratch folder, minimal environment, capped output, no survivors,
and a run that changes the repository's files fails. The runner behaves as plain `python`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from pathlib import Path

import pytest

import rwsite
from _site_support import alive, make_project
from rwsite.executor import Run


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path)


def wait_dead(pid: int, within_s: float = 5.0) -> bool:
    end = time.monotonic() + within_s
    while alive(pid) and time.monotonic() < end:
        time.sleep(0.05)
    return not alive(pid)


PROBE = """
import json, os, sys, warnings
import __main__
print(json.dumps({
    "name": __name__, "file": __file__, "argv": sys.argv, "cwd": os.getcwd(),
    "path": sys.path, "env": dict(os.environ), "flags": repr(sys.flags),
    "main_is_module": sys.modules["__main__"] is __main__,
    "globals": sorted(k for k in globals() if k not in ("json", "os", "sys", "warnings", "__main__")),
    "spec": repr(__spec__), "package": repr(__package__), "doc": __doc__,
    "stdin": os.read(0, 10).decode(), "filters": repr(warnings.filters[:5]),
}))
"""


def test_runner_matches_plain_python(project, tmp_path):
    """The build's run of a snippet is `python SNIPPET` in the same folder and environment: the
    same module, argv, path, working folder and variables. This is why the tests need not run
    every snippet a second time on its own."""
    snippet = project.write("snippets/a/probe.py", '"""Probe."""\n' + PROBE)
    executor = project.executor()
    built = json.loads(executor.get(Run("snippets/a/probe.py")).stdout)
    work = tmp_path / "scratch"
    work.mkdir()
    env = executor.environment("k" * 64, str(tmp_path / "figures"))
    plain = json.loads(subprocess.run([sys.executable, str(snippet)], cwd=work, env=env, stdin=subprocess.DEVNULL,
                                      capture_output=True, text=True, check=True).stdout)
    # The documented differences: the scratch folder's name, the figure folder, and rwsite
    # appended to sys.path (for the figure backend and `rwsite.shared`).
    assert built.pop("cwd") != plain.pop("cwd")
    built["env"].pop("RWSITE_FIGURE_DIR"), plain["env"].pop("RWSITE_FIGURE_DIR")
    built["env"].pop("RWSITE_FIGURE_SALT"), plain["env"].pop("RWSITE_FIGURE_SALT")
    assert built["path"][-1] == str(Path(rwsite.__file__).resolve().parents[1])
    assert built.pop("path")[:-1] == plain.pop("path")
    for k in built:
        assert built[k] == plain[k], k


def test_snippet_runs_in_an_empty_scratch_folder(project):
    project.write("snippets/a/writes.py", """
        import os
        print(sorted(os.listdir(".")))
        open("relative.txt", "w").write("scratch")
    """)
    outcome = project.executor().get(Run("snippets/a/writes.py"))
    assert (outcome.error, outcome.stdout) == (None, "[]\n")
    assert not list(project.root.rglob("relative.txt"))


def test_environment_is_minimal_and_documented(project, monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    monkeypatch.setenv("RAWWEIGHTS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    project.write("snippets/a/env.py", "import json, os\nprint(json.dumps(sorted(os.environ)))\n")
    names = set(json.loads(project.executor().get(Run("snippets/a/env.py")).stdout))
    assert "SECRET_TOKEN" not in names and "PYTHONPATH" not in names
    assert {"PATH", "HOME", "RAWWEIGHTS_DATA_DIR", "JAX_PLATFORMS", "RWSITE_SEED", "RWSITE_REPO"} <= names
    from rwsite.sandbox import PASSED_THROUGH
    own = {n for n in names if n.startswith(("RWSITE_", "JAX_", "MPL", "MATPLOTLIB", "PYTHON"))}
    assert names - own <= set(PASSED_THROUGH) | {"LC_CTYPE"}


def test_a_child_left_running_is_killed_when_the_snippet_ends(project, tmp_path):
    pids = tmp_path / "pids"
    project.write("snippets/a/daemon.py", f"""
        import os, subprocess
        child = subprocess.Popen(["sleep", "60"])
        lost = subprocess.Popen(["sh", "-c", "sleep 60 & echo $!"], stdout=subprocess.PIPE, text=True)
        orphan = lost.stdout.readline().strip()        # its parent exits: re-parented, not ours
        lost.wait()
        open({str(pids)!r}, "w").write(f"{{child.pid}} {{orphan}}")
        print("done")
    """)
    outcome = project.executor().get(Run("snippets/a/daemon.py"))
    assert (outcome.error, outcome.stdout) == (None, "done\n")
    for pid in map(int, pids.read_text().split()):
        assert wait_dead(pid), f"process {pid} outlived the snippet that started it"


def test_a_setsid_child_is_killed_at_the_timeout(project, tmp_path):
    pid_file = tmp_path / "escaped.pid"
    project.write("snippets/a/escape.py", f"""
        import subprocess, time
        child = subprocess.Popen(["sleep", "60"], start_new_session=True)   # leaves the group
        open({str(pid_file)!r}, "w").write(str(child.pid))
        time.sleep(60)
    """)
    outcome = project.executor().get(Run("snippets/a/escape.py", timeout=3))
    assert outcome.error == "snippets/a/escape.py: timed out after 3 s"
    assert wait_dead(int(pid_file.read_text())), "a child in its own session survived the timeout"


def test_output_past_the_cap_stops_the_run_with_a_clear_error(project):
    project.write("snippets/a/loud.py", "import sys\nfor _ in range(800):\n    sys.stdout.write('x' * 65536)\n")  # 50 MB
    start = time.monotonic()
    outcome = project.executor().get(Run("snippets/a/loud.py", timeout=60))
    assert outcome.error.startswith("snippets/a/loud.py: printed more than 1 MB (stdout and stderr together)")
    assert len(outcome.stdout) <= 1_000_000 and time.monotonic() - start < 30
    assert not list(project.cache.glob("snippets/*.json"))


def test_figures_past_the_cap_fail(project):
    project.write("snippets/a/dense.py", """
        import matplotlib.pyplot as plt
        import numpy as np
        plt.scatter(*np.random.default_rng(0).random((2, 60_000)), s=1)
    """)
    outcome = project.executor().get(Run("snippets/a/dense.py", timeout=120))
    assert outcome.error and "MB of SVG, over the 4 MB cap" in outcome.error, outcome.error


@pytest.mark.parametrize("vandalism, change", [
    ("open({root!r} + '/README.md', 'a').write('appended\\n')", "changed README.md"),
    ("open({root!r} + '/fakelib/evil.py', 'w').write('x = 1\\n')", "created fakelib/evil.py"),
    ("import os; os.remove({root!r} + '/fakelib/model.py')", "deleted fakelib/model.py"),
])
def test_a_snippet_that_changes_the_repository_fails(project, vandalism, change):
    project.write("README.md", "# a project\n")
    project.write("snippets/a/vandal.py", vandalism.format(root=str(project.root)) + "\nprint('done')\n")
    outcome = project.executor().get(Run("snippets/a/vandal.py"))
    assert outcome.error and outcome.error.startswith("snippets/a/vandal.py changed files of the repository: "), outcome.error
    assert change in outcome.error
    assert not list(project.cache.glob("snippets/*.json"))


def test_files_under_git_are_watched_through_git(project):
    subprocess.run(["git", "init", "-q", str(project.root)], check=True)
    project.write(".gitignore", "ignored/\n")
    project.write("snippets/a/tidy.py", f"""
        import os
        os.makedirs({str(project.root / 'ignored')!r}, exist_ok=True)
        open({str(project.root / 'ignored' / 'out.txt')!r}, "w").write("fine: git ignores it")
    """)
    assert project.executor().get(Run("snippets/a/tidy.py")).error is None


def test_snippets_stop_when_the_build_that_started_them_dies(project, tmp_path):
    """A killed `mkdocs build` leaves no snippet running (the supervisor follows its parent)."""
    pid_file = tmp_path / "snippet.pid"
    project.write("snippets/a/long.py", f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
                                        "time.sleep(60)\n")
    build = subprocess.Popen([sys.executable, "-c", f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from _site_support import Project
from pathlib import Path
from rwsite.executor import Run
Project(Path({str(project.root)!r}), Path({str(project.library)!r}), Path({str(project.cache)!r})).executor().get(Run("snippets/a/long.py"))
"""], env={**os.environ, "TMPDIR": str(tmp_path)})  # the killed build cannot clean its scratch folder
    end = time.monotonic() + 30
    while not pid_file.exists() and time.monotonic() < end:
        time.sleep(0.1)
    build.kill()
    build.wait()
    assert wait_dead(int(pid_file.read_text()), within_s=10), "the snippet outlived the build"
