"""CI wiring: the workflow passes actionlint, and .ci/run runs exactly the README's commands."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from _site_support import REPO, VENV_BIN

WORKFLOW = REPO / ".github" / "workflows" / "site.yml"


def actionlint(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / "actionlint"), "-no-color", "-oneline", "-shellcheck=", "-pyflakes=", *args],
                          capture_output=True, text=True, timeout=120)


def test_workflow_passes_actionlint():
    result = actionlint(str(WORKFLOW))
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_would_catch_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-latest", "runs-on: ${{ matrix.os }}", 1))
    assert actionlint(str(broken)).returncode != 0


def test_workflow_builds_on_push_and_pr_and_deploys_pages():
    text = WORKFLOW.read_text()
    for needed in ("push:", "pull_request:", "actions/setup-python", "cache: pip", "actions/cache",
                   ".cache/snippets", ".cache/shared", "actions/upload-pages-artifact", "actions/deploy-pages"):
        assert needed in text, f"the workflow lacks {needed}"


def readme_commands() -> list[str]:
    readme = (REPO / "README.md").read_text()
    block = re.search(r"```(?:bash|sh|console)\n(.*?)```", readme, re.S)
    assert block, "README.md has no command block"
    return [line.split("#")[0].strip() for line in block[1].splitlines() if line.strip()]


def test_readme_gives_exactly_two_commands_and_ci_runs_them():
    commands = readme_commands()
    assert commands == ["python3 dev.py site", "python3 dev.py test"]
    script = (REPO / ".ci" / "run").read_text()
    assert script.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in script
    assert 'RAWWEIGHTS_DATA_DIR="$(pwd)/../shared/data"' in script
    for command in commands:
        assert re.search(rf"^{re.escape(command)}$", script, re.M), f".ci/run does not run {command!r}"
    assert subprocess.run(["bash", "-n", str(REPO / ".ci" / "run")]).returncode == 0


def test_dev_test_runs_one_worker_per_core_unless_told(monkeypatch):
    import importlib.util
    spec = importlib.util.spec_from_file_location("dev", REPO / "dev.py")
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    monkeypatch.setattr(dev.os, "sched_getaffinity", lambda _: {0, 1}, raising=False)
    assert dev.pytest_args(["-k", "cli"]) == ["-n", "2", "-k", "cli"]
    for chosen in (["-n", "0"], ["-n0"], ["--numprocesses=3"], ["-p", "no:xdist"], ["--dist", "load"]):
        assert dev.pytest_args(chosen) == chosen
    monkeypatch.setattr(dev.os, "sched_getaffinity", lambda _: set(range(64)), raising=False)
    assert dev.pytest_args([])[:2] == ["-n", str(dev.MAX_TEST_WORKERS)]
    monkeypatch.setattr(dev.os, "sched_getaffinity", lambda _: {0}, raising=False)
    assert dev.pytest_args(["-x"]) == ["-x"]


def test_site_modules_are_the_ones_sharing_the_build():
    from _xdist_support import SITE_MODULES, unit_of

    uses = lambda text: "built_site(" in text or "snippet_outcomes(" in text
    sharing = {p.name for p in (REPO / "tests").glob("test_*.py")
               if p.name != Path(__file__).name and uses(p.read_text())}
    assert sharing == set(SITE_MODULES)
    assert unit_of("tests/test_site_build.py::test_pages[index.html]") == "site"
    assert unit_of("tests/test_lib_cli.py::test_help_everywhere[train]") == \
        "tests/test_lib_cli.py::test_help_everywhere[train]"


def test_two_workers_keep_the_site_modules_together(tmp_path):
    """A real `pytest -n 2` over stand-in modules: every test of SITE_MODULES on one worker."""
    from _xdist_support import SITE_MODULES

    log = tmp_path / "ran.txt"
    record = ("import os, time\n"
              "def _ran(name, pause):\n    time.sleep(pause)\n"
              f"    with open({str(log)!r}, 'a') as fh:\n"
              "        fh.write(name + ' ' + os.environ['PYTEST_XDIST_WORKER'] + '\\n')\n")
    (tmp_path / "conftest.py").write_text(
        f"import sys\nsys.path.insert(0, {str(REPO / 'tests')!r})\n"
        "from _xdist_support import pytest_xdist_make_scheduler  # noqa: F401\n")
    for module in SITE_MODULES:
        (tmp_path / module).write_text(record + "".join(
            f"def test_{i}():\n    _ran('site', 0.2)\n" for i in range(4)))
    (tmp_path / "test_lib_other.py").write_text(record + "".join(
        f"def test_{i}():\n    _ran('lib', 0.05)\n" for i in range(12)))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "-q", "-p", "no:cacheprovider",
                           str(tmp_path)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ran = [line.split() for line in log.read_text().splitlines()]
    assert len(ran) == 4 * len(SITE_MODULES) + 12
    assert len({worker for kind, worker in ran if kind == "site"}) == 1, ran
    assert len({worker for _, worker in ran}) == 2, ran       # and both workers had work
