"""The build budget: what a cold build may cost per snippet, shared result, page and site, and
the benchmark result files that take over the experiments too long for it."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from _site_support import REPO
from rwsite import report
from rwsite.executor import Outcome, Run


class Build:
    """Just what `report.over_budget` reads of an executor."""

    def __init__(self, *outcomes: Outcome):
        self.outcomes = {o.run: o for o in outcomes}


def fresh(path: str, cpu_s: float, shared: list[dict] | None = None, cached: bool = False) -> Outcome:
    return Outcome(Run(path), key=path, wall_s=cpu_s / 2, cpu_s=cpu_s, shared=shared or [], cached=cached)


def test_a_snippet_is_measured_by_its_own_work_and_a_shared_build_on_its_own():
    trainer = fresh("snippets/r/trains.py", 350.0, [{"name": "student", "built": True, "seconds": 150.0, "cpu_s": 240.0}])
    reader = fresh("snippets/r/reads.py", 110.0, [{"name": "student", "built": False, "seconds": 100.0, "cpu_s": 0.1}])
    build = Build(trainer, reader)
    assert (trainer.own_cpu_s, round(reader.own_cpu_s, 1)) == (110.0, 109.9)
    assert report.over_budget(build, {"r/one.md": [trainer.run], "r/two.md": [reader.run]}) == []


def test_overruns_name_the_snippet_the_shared_result_and_the_page():
    slow = fresh("snippets/r/race.py", 190.0)
    trainer = fresh("snippets/r/trains.py", 380.0, [{"name": "student", "built": True, "seconds": 150.0, "cpu_s": 310.0}])
    cached = fresh("snippets/r/old.py", 500.0, cached=True)           # judged when it ran
    pages = {"r/race.md": [slow.run, cached.run], "r/student.md": [trainer.run, trainer.run]}
    assert report.over_budget(Build(slow, trainer, cached), pages, "docs/") == [
        "snippets/r/trains.py: building the shared result 'student' took 310 CPU-s, over the 300 CPU-s "
        "budget of a shared result; make it a benchmark",
        "snippets/r/race.py: ran 190 CPU-s, over the 120 CPU-s budget of a snippet; make the experiment a "
        "benchmark  [in docs/r/race.md]",
        "docs/r/student.md: its snippets cost 380 CPU-s on this build (snippets/r/trains.py), over the "
        "360 CPU-s budget of a page",
    ]


def test_a_page_adds_its_snippets_and_the_shared_results_they_made():
    parts = [fresh(f"snippets/r/{i}.py", 90.0) for i in range(3)]
    student = fresh("snippets/r/s.py", 120.0, [{"name": "student", "built": True, "seconds": 50.0, "cpu_s": 100.0}])
    problems = report.over_budget(Build(*parts, student), {"r/big.md": [p.run for p in parts] + [student.run]})
    assert problems == ["docs/r/big.md: its snippets cost 390 CPU-s on this build (snippets/r/0.py, snippets/r/1.py, "
                        "snippets/r/2.py, snippets/r/s.py), over the 360 CPU-s budget of a page"]


def test_the_whole_site_has_a_budget():
    runs = [fresh(f"snippets/r/{i}.py", 100.0) for i in range(13)]
    problems = report.over_budget(Build(*runs), {f"r/{i}.md": [r.run] for i, r in enumerate(runs)})
    assert problems == ["the site: its snippets cost 1300 CPU-s on this build, over the 1200 CPU-s budget "
                        "of a cold build (10 minutes of 2 cores)"]


def committed_result(snippet: str, name: str = "RESULT") -> str:
    """The result file a snippet (or a helper beside it) reads: a literal path in it."""
    text = (REPO / "snippets" / snippet).read_text()
    return re.search(rf'^{name} = "([^"]+)"', text, re.M)[1]


def run_benchmark(tmp_path, script: str, *args: str) -> dict:
    out = tmp_path / "point.json"
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), *args, "--out", str(out)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=540)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(out.read_text())


@pytest.mark.timeout(600)
def test_the_climber_race_result_file_is_reproducible(tmp_path, shakespeare):
    """The race's cheapest point (SGD, 20 steps) run again gives the committed losses."""
    committed = json.loads((REPO / committed_result("robot/climber_race.py")).read_text())
    assert {"device", "date", "command", "commit"} <= set(committed)
    again = run_benchmark(tmp_path, "climber_race.py", "--steps", "20", "--climbers", "SGD", "--rounds", "1")
    assert again["climbers"]["SGD"]["losses"] == pytest.approx(committed["climbers"]["SGD"]["losses"][:20], abs=2e-3)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("experiment, variable, run", [
    ("students", "STUDENTS_RESULT", "learned"),
    ("norms", "NORMS_RESULT", "pre-LN (GPT-2) @ 0.003"),
])
def test_the_architecture_experiments_are_reproducible(tmp_path, shakespeare, experiment, variable, run):
    """The cheapest point of each (one run, its first 20 steps, same schedule) gives the committed
    losses, and the committed file is a full run of today's recipe."""
    committed = json.loads((REPO / committed_result("arch/_experiments.py", variable)).read_text())
    assert {"device", "date", "command", "commit", "recipe"} <= set(committed) and "stop_after" not in committed
    again = run_benchmark(tmp_path, "arch_experiments.py", experiment, "--only", run, "--stop-after", "20")
    sys.path.insert(0, str(REPO / "snippets" / "arch"))
    try:
        from _experiments import _same_recipe
    finally:
        sys.path.remove(str(REPO / "snippets" / "arch"))
    assert _same_recipe(committed["recipe"], again["recipe"])   # fields added since: at their defaults
    point, full = again["runs"][run], committed["runs"][run]
    assert point["loss"] == pytest.approx(full["loss"][:20], abs=2e-3)
    if experiment == "norms":   # the per-layer gradient probes at steps 0, 10 and 20 as well
        assert point["probe_steps"] == full["probe_steps"][:3]
        flat = lambda rows: [g for row in rows for g in row]
        assert flat(point["layer_grad_norms"]) == pytest.approx(flat(full["layer_grad_norms"][:3]), rel=1e-3)


@pytest.mark.timeout(1200)
def test_the_distillation_result_file_is_reproducible(tmp_path, shakespeare):
    """The soft-target run's first 20 steps, run again against the teacher (the site's robot
    student, trained here first if this library version has none yet), give the committed losses."""
    committed = json.loads((REPO / committed_result("inference/distill_results.py")).read_text())
    assert {"device", "date", "command", "commit"} <= set(committed) and "stop_after" not in committed
    sys.path.insert(0, str(REPO / "snippets" / "robot"))
    try:
        import _student
    finally:
        sys.path.remove(str(REPO / "snippets" / "robot"))
    again = run_benchmark(tmp_path, "distill.py", "--only", "soft, T=2", "--stop-after", "20",
                          "--teacher", str(_student.student_dir()))
    assert same_config(committed["student"], again["student"])
    assert again["runs"]["soft, T=2"]["loss"] == pytest.approx(committed["runs"]["soft, T=2"]["loss"][:20], abs=2e-3)


def same_config(old: dict, new: dict) -> bool:
    """A run config recorded in a result file against today's: equal, except for fields added to
    the library since, which must hold their defaults (a default keeps the old behaviour)."""
    import dataclasses

    from rawweights_jax.config import ModelConfig, TrainConfig

    if old.keys() != new.keys():
        return False
    for section, cls in (("model", ModelConfig), ("train", TrainConfig)):
        defaults = {f.name: f.default for f in dataclasses.fields(cls)}
        added = new.get(section, {}).keys() - old.get(section, {}).keys()
        if any(new[section][k] != defaults.get(k, dataclasses.MISSING) for k in added):
            return False
        if {k: v for k, v in new.get(section, {}).items() if k not in added} != old.get(section):
            return False
    return True


def test_a_result_file_from_another_recipe_is_refused_with_the_command_to_run(tmp_path, monkeypatch):
    sys.path.insert(0, str(REPO / "snippets" / "arch"))
    try:
        import _experiments
    finally:
        sys.path.remove(str(REPO / "snippets" / "arch"))
    stale = tmp_path / "benchmarks" / "results" / "old.json"
    stale.parent.mkdir(parents=True)
    stale.write_text(json.dumps({"recipe": {"variants": {}}, "runs": {}}))
    monkeypatch.setattr(_experiments, "ROOT", tmp_path)
    with pytest.raises(RuntimeError, match=r"python benchmarks/arch_experiments.py norms"):
        _experiments.load_result("benchmarks/results/old.json", "norms", {"variants": {"a": "{}"}})
