"""Real runs of the agent, traced: a held-out task from the benchmark's run at 30% injected
tool failures with retries; then the executor itself, live, on a plan that fails half way.

The traces come from the committed result of `rawweights bench agent` (the fine-tuned
student, 400 steps: more training than a page build affords); each table is `trace_rows`
of one run's trace (agents/trace.py). The last part runs the executor and the store here.

Run on its own: python snippets/agents/traced_run.py   (a second)
"""

import json
from pathlib import Path

from rawweights_jax.agents.calls import parse_plan
from rawweights_jax.agents.runtime import RetryPolicy, SimClock, execute
from rawweights_jax.agents.tools import Flaky, Store
from rawweights_jax.agents.trace import RunTrace, trace_rows
from rwsite.claims import claim, value
from rwsite.tables import table

ROOT = Path(__file__).resolve().parents[2]
RESULT = "benchmarks/results/agent-cpu-2026-12-04.json"
r = json.loads((ROOT / RESULT).read_text())
recorded = RunTrace.from_dict(r["example_failure_trace"])

# --8<-- [start:recorded]
print(f"recorded by `rawweights bench agent` on {r['device']}, {r['date']}, commit {r['commit']}")
print(f"Q:{recorded.question}")
table(*trace_rows(recorded), align="llll")
# --8<-- [end:recorded]

claim(recorded.success and recorded.retries > 0, "the recorded task needed a retry and succeeded",
      retries=recorded.retries)
value("traced_retries", str(recorded.retries))
value("traced_plan", recorded.plan.strip())

# --8<-- [start:live]
store = Store({"x": 40})
txn = store.begin()
trace = RunTrace("x=7,zz+1")
results = execute(parse_plan("[put x 7][get zz]\n"), txn, Flaky(0.0), RetryPolicy(),
                  SimClock(), trace)            # a write, then a read of a key never stored
if results is None:
    trace.rolled_back = dict(txn.writes)
    txn.rollback()
headers, rows = trace_rows(trace)
table(headers, rows[1:-1], align="llll")        # no plan or answer turn: no model in this part
print("store after:", store.items)
# --8<-- [end:live]
claim(results is None and store.items == {"x": 40} and trace.rolled_back == {"x": 7},
      "the failed plan's write was rolled back", store=store.items)
