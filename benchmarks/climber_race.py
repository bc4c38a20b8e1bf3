"""The intelligent climber's race: plain SGD, SGD with momentum and Adam train the robot student.

    python benchmarks/climber_race.py                 # the race: 3 climbers x 500 steps, ~3 min on 2 cores
    python benchmarks/climber_race.py --steps 20 --climbers SGD --out /tmp/point.json   # cheapest point

Everything but the optimizer is shared: the model shape (the `shakespeare-char-cpu` preset), the
initial weights, the batches (drawn from the same seeded key at each step), the loss and the
compiled step. The schedule, gradient clipping and weight decay of the library's AdamW go too,
so each update rule is compared bare, at a constant learning rate. After the race each climber
is timed in turns (A, B, C, A, B, C...), so that all three share whatever else the machine is
doing at the time.

The race needs about three minutes of a 2-core CPU, more than a page's snippets may cost on a
cold build (the build budget in docs/contributing.md). So it is a benchmark: this script writes
`benchmarks/results/climber-race-<platform>-<date>.json` (device, date, command, commit and
every climber's per-step losses), the file is committed, and `snippets/robot/climber_race.py`
reads and plots it. `tests/test_site_budget.py` re-runs the cheapest point (one climber, 20
steps) and checks it against the committed losses: the file is reproducible, not a one-off.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import optax

import _results

PRESET = "shakespeare-char-cpu"

# --8<-- [start:climbers]
CLIMBERS = {  # name -> (the optimizer, as shown on the page)
    "SGD": "optax.sgd(learning_rate=0.1)",                            # w <- w - lr * g
    "Momentum": "optax.sgd(learning_rate=0.03, momentum=0.9)",        # v <- 0.9 v + g;  w <- w - lr * v
    "Adam": "optax.adam(learning_rate=1e-3, b1=0.9, b2=0.99)",        # per-weight steps: moments of g, g^2
}
# --8<-- [end:climbers]


def climb(optimizer: optax.GradientTransformation, steps: int) -> dict:
    """Train the preset with `optimizer` for `steps` steps (10 per compiled call).

    The only function here that uses the library, so that a change of its training API is
    one edit. Returns the per-step losses, the final evaluation, the optimizer state's size
    relative to the weights', and a `step` closure that times one 10-step call.
    """
    import jax
    import jax.numpy as jnp

    from rawweights_jax.config import preset
    from rawweights_jax.data.shakespeare import load_shakespeare
    from rawweights_jax.train.trainer import Trainer, init_state

    cfg = preset(PRESET)
    graphdef, state = init_state(cfg, optimizer)  # the same initial weights for every climber
    trainer = Trainer(cfg, graphdef, load_shakespeare(), optimizer=optimizer)
    losses = []
    for _ in range(steps // 10):
        state, metrics = trainer.run_steps(state, trainer.train_Z, 10)
        losses.extend(np.asarray(metrics["loss"]).tolist())
    floats = lambda tree: sum(x.size for x in jax.tree.leaves(tree) if np.issubdtype(x.dtype, np.floating))

    def step() -> float:
        copy = jax.tree.map(jnp.copy, state)  # the call consumes its input state
        jax.block_until_ready(copy)
        t0 = time.perf_counter()
        jax.block_until_ready(trainer.run_steps(copy, trainer.train_Z, 10))
        return time.perf_counter() - t0

    return {"losses": losses, "val_loss": trainer.evaluate(state)["val_loss"],
            "state_per_weight": floats(state.opt_state) / floats(state.params),
            "tokens_per_step": cfg.tokens_per_iter, "step": step}


def race(names: list[str], steps: int, rounds: int) -> dict:
    # The climbers are written as text so that the result file (and the page) records exactly
    # the expression that ran; it is evaluated with nothing but optax in scope.
    runs = {name: climb(eval(CLIMBERS[name], {"optax": optax}), steps) for name in names}
    times = {name: [] for name in names}
    for _ in range(rounds):
        for name, run in runs.items():
            times[name].append(run["step"]())
    return {name: {"optimizer": CLIMBERS[name], "losses": [round(x, 6) for x in run["losses"]],
                   "val_loss": round(run["val_loss"], 6), "ms_per_step": round(1000 * float(np.median(times[name])) / 10, 2),
                   "state_per_weight": run["state_per_weight"], "tokens_per_step": run["tokens_per_step"]}
            for name, run in runs.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500, help="steps per climber, a multiple of 10")
    parser.add_argument("--climbers", default=",".join(CLIMBERS), help="comma-separated, of " + ", ".join(CLIMBERS))
    parser.add_argument("--rounds", type=int, default=7, help="timing rounds after the race")
    parser.add_argument("--note", default="", help="what else the machine was doing, for the result file")
    parser.add_argument("--out", help="the result file (default: benchmarks/results/climber-race-<platform>-<date>.json)")
    args = parser.parse_args(argv)
    names = args.climbers.split(",")
    if args.steps <= 0 or args.steps % 10 or any(n not in CLIMBERS for n in names):
        parser.error(f"--steps must be a positive multiple of 10 and --climbers some of {', '.join(CLIMBERS)}")
    start = time.perf_counter()
    climbers = race(names, args.steps, args.rounds)
    result = {"benchmark": "climber-race", "preset": PRESET, "steps": args.steps, "climbers": climbers,
              **_results.stamp("climber_race.py", argv), "wall_seconds": round(time.perf_counter() - start, 1)}
    if args.note:
        result["machine_note"] = args.note
    out = _results.write(Path(args.out) if args.out else _results.default_path("climber-race"), result)
    print(f"climber race: {', '.join(names)}, {args.steps} steps, {result['wall_seconds']} s -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
