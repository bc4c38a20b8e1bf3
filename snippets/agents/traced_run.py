"""A real run of the agent, traced: held-out tasks with tool failures injected at 30% of calls,
retried with exponential backoff; then a plan that fails half way, and its rollback.

The agent is the robot student fine-tuned to plan tool calls (snippets/agents/_agent.py, a
shared result); each table below is `trace_rows` of one run's trace (agents/trace.py).

Run on its own: python snippets/agents/traced_run.py   (trains the agent on a first run)
"""

import os

from _agent import RECIPE, load_agent

from rawweights_jax.agents.runtime import RetryPolicy, run_tasks
from rawweights_jax.agents.tasks import make_tasks
from rawweights_jax.agents.trace import trace_rows
from rwsite.claims import claim, value
from rwsite.tables import table

SEED = int(os.environ.get("RWSITE_SEED", 0))
agent = load_agent()
seen = frozenset(t.question for t in make_tasks(RECIPE["n_train"], RECIPE["seed"]))

# --8<-- [start:run]
tasks = make_tasks(3, seed=7, exclude=seen)       # held out: an arith, a store and a recall task
runs = run_tasks(agent, tasks, failure_rate=0.3, policy=RetryPolicy(retries=3), seed=SEED + 5)
for task, run in zip(tasks, runs):
    print(f"Q:{task.question}   store before: {task.store_before}   expected: {task.answer}")
    table(*trace_rows(run), align="llll")
# --8<-- [end:run]

retries = sum(r.retries for r in runs)
claim(all(r.success for r in runs), "every task of the traced run succeeded",
      answers=[r.answer_text for r in runs])
claim(retries > 0, "the traced run retried at least one call", retries=retries)
value("traced_retries", str(retries))
value("traced_plan", runs[1].plan.strip())

# --8<-- [start:rollback]
task = tasks[1]                                   # the store task, with a plan written by hand:
bad_plan = "[put q 7][get zz]\n"                  # a write, then a read of a key never stored
[run] = run_tasks(agent, [task], plans=[bad_plan])
table(*trace_rows(run), align="llll")
print("store after:", task.store_before, "(unchanged)" if not run.committed else "")
# --8<-- [end:rollback]
claim(run.fallback and run.rolled_back == {"q": 7} and not run.committed,
      "the failed plan's write was rolled back", trace=run.to_dict())
