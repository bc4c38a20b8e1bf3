"""The same robot student trained three times: plain SGD, SGD with momentum, Adam.

The race itself (three climbers x 500 steps, about three minutes on a 2-core CPU) is more than
a page may cost on a cold build, so it is a benchmark: `benchmarks/climber_race.py` trains the
three climbers through the library's `Trainer` (same model, same initial weights, same batches;
only the optimizer differs, at a constant learning rate) and writes the result file below,
which records the device, the date, the command and the library commit. This snippet reads
that file, prints the table and draws the curves; a test re-runs the race's cheapest point and
checks it against the file.

Run on its own: python snippets/robot/climber_race.py  (a second; the race: python benchmarks/climber_race.py)
"""

import json
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
RESULT = "benchmarks/results/climber-race-cpu-2026-12-03.json"

# --8<-- [start:climbers]
race = json.loads((ROOT / RESULT).read_text())
climbers = race["climbers"]
print(f"{race['steps']} steps of {climbers['SGD']['tokens_per_step']} characters, same start, same batches")
print(f"run by benchmarks/climber_race.py on {race['device']}, {race['date']}, library commit {race['commit']}")
if race.get("machine_note"):
    print(textwrap.fill(race["machine_note"], 95, initial_indent="  (", subsequent_indent="   ") + ")")
for name, climber in climbers.items():       # each one an optax optimizer handed to Trainer
    print(f"  {name:9} {climber['optimizer']}")
# --8<-- [end:climbers]

# --8<-- [start:race]
print()
print("@100, @250, @500: mean training loss of the 25 steps up to there")
print("val: validation loss at the end; state: optimizer state / weights")
print(f"{'':9}{'@100':>7}{'@250':>7}{'@500':>7}{'val':>7}{'ms/step':>9}{'state':>7}")
for name, climber in climbers.items():
    losses = np.array(climber["losses"])
    at = [losses[s - 25: s].mean() for s in (100, 250, 500)]
    print(f"{name:9}" + "".join(f"{x:7.3f}" for x in at)
          + f"{climber['val_loss']:7.3f}{climber['ms_per_step']:9.1f}{climber['state_per_weight']:7.1f}")
# --8<-- [end:race]

fig, ax = plt.subplots(figsize=(6.4, 3.4))
steps = np.arange(1, race["steps"] + 1)
for i, (name, climber) in enumerate(climbers.items()):
    losses = np.array(climber["losses"])
    ax.plot(steps, losses, color=f"C{i}", alpha=0.2, linewidth=0.7)
    smooth = np.convolve(losses, np.ones(25) / 25, mode="valid")
    ax.plot(steps[24:], smooth, color=f"C{i}", label=f"{name} (mean of 25 steps)")
ax.set_ylim(2.0, 4.3)
ax.set_xlabel("optimizer step")
ax.set_ylabel("training loss (nats per character)")
ax.set_title("Three climbers, one model, the same batches")
ax.legend()
plt.show()
