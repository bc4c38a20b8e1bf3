"""CI wiring: the workflow passes actionlint, and .ci/run runs exactly the README's commands."""

from __future__ import annotations

import re
import subprocess

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
