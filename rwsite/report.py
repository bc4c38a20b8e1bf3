"""The end of a build: what ran and what came from the cache, and the build budget.

The summary counts the snippets used, cache hits and fresh runs, the work they did and the
wall time it took, and names the slowest (this build's runs before cached ones). The budget (see "The build budget" in the
contributor guide) holds what a cold build may cost, measured on the fresh runs of this build
in CPU seconds (user and system time of a run and every process it started). CPU time, not
wall time: two snippets that run side by side on 2 cores each take twice as long on the clock
as alone, but do the same work, so a budget on the clock would pass or fail by what happened to
run alongside. The budget:

- a snippet's own work (its CPU time minus what went into building shared results) at most
  `SNIPPET_BUDGET_S`;
- a shared result's build at most `SHARED_BUDGET_S` (it is paid once, for all its readers);
- a page's snippets together at most `PAGE_BUDGET_S`: their own work, plus the builds of the
  shared results they asked for that this build made;
- the whole site at most `SITE_BUDGET_S`: 10 minutes of both cores of a 2-core machine, the
  share of CI's 30 minutes the site gets (the tests and the install take the rest).

An experiment that needs more is a benchmark whose committed result file the page reads. A
strict build fails on an overrun, naming the snippet and the page; a lenient one warns. Only
fresh runs are measured: a cached output costs nothing, and its cost was judged when it ran.
"""

from __future__ import annotations

SNIPPET_BUDGET_S = 120.0
SHARED_BUDGET_S = 300.0
PAGE_BUDGET_S = 360.0
SITE_BUDGET_S = 1200.0


def summary(executor, slowest: int = 5) -> list[str]:
    """A few lines for the end of a build: counts, cache hits, the slowest runs."""
    outcomes = {o.key: o for o in executor.outcomes.values() if o.key}.values()  # one per run
    hits = sum(o.cached for o in outcomes)
    fresh = [o for o in outcomes if not o.cached]
    failed = len({o.run.path for o in executor.outcomes.values() if o.error is not None})
    lines = [
        f"snippets: {len(outcomes)} used, {hits} from cache, {len(fresh)} run "
        f"({sum(o.wall_s for o in fresh):.1f} s of runs, {sum(o.cpu_s for o in fresh):.1f} CPU-s, "
        f"{executor.ran_wall_s:.1f} s wall on {executor.jobs} workers), {failed} failed"
    ]
    for o in sorted(outcomes, key=lambda o: (o.cached, -o.wall_s))[:slowest]:  # this build's runs first
        built = [e["name"] for e in o.shared if e.get("built")]
        note = f", built {', '.join(built)}" if built and not o.cached else ""
        lines.append(f"  {o.wall_s:7.2f} s  {o.cpu_s:7.1f} CPU-s  {o.run.path}  "
                     f"({'cached' if o.cached else 'fresh'}{note})")
    return lines


def over_budget(executor, pages: dict[str, list], docs_prefix: str = "docs/") -> list[str]:
    """One line per overrun among this build's fresh runs; `pages` maps a page to its fences' runs."""
    problems = []
    builds: dict[str, tuple[float, str]] = {}  # shared result -> (build CPU seconds, who built it)
    fresh = {o.run.path: o for o in executor.outcomes.values() if not o.cached and not o.error and o.key}
    for outcome in fresh.values():
        for event in outcome.shared:
            if event.get("built"):
                builds[event["name"]] = (float(event.get("cpu_s", 0)), outcome.run.path)
    for name, (seconds, path) in sorted(builds.items()):
        if seconds > SHARED_BUDGET_S:
            problems.append(f"{path}: building the shared result {name!r} took {seconds:.0f} CPU-s, over the "
                            f"{SHARED_BUDGET_S:.0f} CPU-s budget of a shared result; make it a benchmark")
    for page, runs in sorted(pages.items()):
        where = f"[in {docs_prefix}{page}]"
        total, asked, parts = 0.0, set(), []
        for path in dict.fromkeys(run.path for run in runs):
            outcome = fresh.get(path)
            if outcome is None:
                continue
            if outcome.own_cpu_s > SNIPPET_BUDGET_S:
                problems.append(f"{path}: ran {outcome.own_cpu_s:.0f} CPU-s, over the {SNIPPET_BUDGET_S:.0f} CPU-s "
                                f"budget of a snippet; make the experiment a benchmark  {where}")
            total += outcome.own_cpu_s
            parts.append(path)
            asked |= {e["name"] for e in outcome.shared}
        total += sum(builds[name][0] for name in asked if name in builds)
        if total > PAGE_BUDGET_S:
            problems.append(f"{docs_prefix}{page}: its snippets cost {total:.0f} CPU-s on this build "
                            f"({', '.join(parts)}), over the {PAGE_BUDGET_S:.0f} CPU-s budget of a page")
    work = sum(o.own_cpu_s for o in fresh.values()) + sum(seconds for seconds, _ in builds.values())
    if work > SITE_BUDGET_S:
        problems.append(f"the site: its snippets cost {work:.0f} CPU-s on this build, over the "
                        f"{SITE_BUDGET_S:.0f} CPU-s budget of a cold build (10 minutes of 2 cores)")
    return problems
