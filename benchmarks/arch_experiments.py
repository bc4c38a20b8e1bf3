"""The small students of the Architecture pages, trained: positions and MLPs, and normalisation.

    python benchmarks/arch_experiments.py students   # 8 students x 400 steps, ~3 min on 2 cores
    python benchmarks/arch_experiments.py norms      # 4 norms x 2 learning rates x 300 steps, ~3 min
    python benchmarks/arch_experiments.py students --only learned --stop-after 20 --out /tmp/p.json
                                                     # the cheapest point (a test re-runs it)

The recipe (the small model, its variants, the learning rates, what is measured) is
`snippets/arch/_experiments.py`, which the pages show; this script trains it and writes
`benchmarks/results/arch-<students|norms>-<platform>-<date>.json` with the device, the date,
the command, the library commit and the recipe itself. The snippets read the committed file
and refuse one whose recipe is not today's (edit the recipe, run this again, commit the file,
and point `_experiments.py` at it).

Each experiment needs about three minutes of a 2-core CPU, more than a page's snippets may
cost on a cold build (the build budget in docs/contributing.md), so they run here rather than
in the build. `--stop-after N` trains only the first N steps of the chosen runs, with the
schedule unchanged (the losses of those steps are the full run's), skipping the measurements
made at the end: `tests/test_site_budget.py` compares such a point with the committed file.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import _results

sys.path.insert(0, str(_results.ROOT / "snippets" / "arch"))
import _experiments as recipe  # noqa: E402  (the recipe the pages show, beside their snippets)


# ----------------------------------------------------------------------------- students
def students(only: list[str] | None, stop_after: int | None, say=print) -> dict:
    """name -> final evaluation, per-step loss, parameter count, mean loss at each position."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from flax import nnx

    from rawweights_jax.data.batches import spaced_windows
    from rawweights_jax.data.shakespeare import load_shakespeare
    from rawweights_jax.model.gpt import count_params
    from rawweights_jax.train.loop import train

    data = load_shakespeare()
    x_WT, y_WT = spaced_windows(data.val_Z, recipe.EVAL_LEN, recipe.EVAL_WINDOWS)

    @nnx.jit
    def nll_per_position(model, x_BT, y_BT):       # -log p(right character), [B, T]
        logp_BTV = jax.nn.log_softmax(model(x_BT).astype(jnp.float32), axis=-1)
        return -jnp.take_along_axis(logp_BTV, y_BT[..., None], axis=-1)[..., 0]

    results = {}
    for name, cfg in _chosen(recipe.student_variants(), only).items():
        t0 = time.perf_counter()
        if stop_after:      # the same schedule (its length pinned), cut short
            cfg = cfg.replace(max_iters=stop_after, eval_interval=stop_after,
                              lr_decay_iters=cfg.train.lr_decay_iters)
        run = train(cfg, data, progress=None)
        results[name] = {"eval": run.history["eval"][-1], "loss": run.history["loss"],
                         "params": count_params(run.model)}
        if not stop_after:
            recipe.past_the_table(run.model, recipe.EVAL_LEN)
            nll = np.concatenate([np.asarray(nll_per_position(run.model, x_WT[i:i + 64], y_WT[i:i + 64]))
                                  for i in range(0, recipe.EVAL_WINDOWS, 64)])
            results[name]["nll_by_position"] = nll.mean(0).tolist()
        say(f"  {name:32} val {results[name]['eval']['val_loss']:.4f}  ({time.perf_counter() - t0:.0f} s)")
    return results


# ----------------------------------------------------------------------------- norms
def norms(only: list[str] | None, stop_after: int | None, say=print) -> dict:
    """`<norm> @ <lr>` -> per-step loss and gradient norm, per-layer gradient norms every
    PROBE_EVERY steps on one fixed batch, final evaluation."""
    import jax
    import numpy as np

    from rawweights_jax.data.batches import sample_batch
    from rawweights_jax.data.shakespeare import load_shakespeare
    from rawweights_jax.train.trainer import Trainer, init_state

    data = load_shakespeare()
    results = {}
    for run_name, (name, lr, cfg) in _chosen(recipe.norm_variants(), only).items():
        t0 = time.perf_counter()
        graphdef, state = init_state(cfg)
        trainer = Trainer(cfg, graphdef, data)
        # One fixed training batch: every probe measures the gradient on the same text.
        x_BT, y_BT = sample_batch(trainer.train_Z, jax.random.key(0), 32, cfg.model.context_len)
        grad = jax.jit(lambda p: jax.grad(trainer.loss)(p, x_BT, y_BT, None))
        last = min(stop_after or recipe.NORM_STEPS, recipe.NORM_STEPS)
        losses, grad_norms, probes = [], [], []
        for step in range(0, last + 1, recipe.PROBE_EVERY):
            probes.append((step, layer_grad_norms(grad(state.params), cfg.model.n_layers)))
            if step + recipe.PROBE_EVERY > last:
                break
            state, metrics = trainer.run_steps(state, trainer.train_Z, recipe.PROBE_EVERY)
            losses.extend(np.asarray(metrics["loss"]).tolist())
            grad_norms.extend(np.asarray(metrics["grad_norm"]).tolist())
        results[run_name] = {"name": name, "lr": lr, "loss": losses, "grad_norm": grad_norms,
                             "probe_steps": [s for s, _ in probes],
                             "layer_grad_norms": [g for _, g in probes]}
        if not stop_after:
            results[run_name]["eval"] = trainer.evaluate(state)
            say(f"  {run_name:40} val {results[run_name]['eval']['val_loss']:.4f}  "
                f"({time.perf_counter() - t0:.0f} s)")
        else:
            say(f"  {run_name:40} {len(losses)} steps  ({time.perf_counter() - t0:.0f} s)")
    return results


# --8<-- [start:layer_norms]
def layer_grad_norms(grads, n_layers: int) -> list[float]:
    """Gradient norm of each block's parameters (attention, MLP and norms of layer i)."""
    import jax
    import numpy as np

    squares = np.zeros(n_layers)
    for path, g in jax.tree_util.tree_flatten_with_path(grads)[0]:
        keys = [getattr(k, "key", None) for k in path]
        if keys[0] == "blocks":
            squares[int(keys[1])] += float((np.asarray(g) ** 2).sum())
    return np.sqrt(squares).tolist()
# --8<-- [end:layer_norms]


EXPERIMENTS = {"students": (students, recipe.students_recipe),
               "norms": (norms, recipe.norms_recipe)}


def _chosen(variants: dict, only: list[str] | None) -> dict:
    unknown = sorted(set(only or ()) - set(variants))
    if unknown:
        raise SystemExit(f"arch_experiments: unknown run(s) {', '.join(map(repr, unknown))}; "
                         f"choose from {', '.join(map(repr, variants))}")
    return {k: v for k, v in variants.items() if not only or k in only}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", choices=sorted(EXPERIMENTS))
    parser.add_argument("--only", action="append", metavar="RUN",
                        help="train only this run (repeatable), e.g. 'learned' or 'pre-LN (GPT-2) @ 0.003'")
    parser.add_argument("--stop-after", type=int, metavar="N",
                        help="train only the first N steps (a multiple of 10 for norms); no final measurements")
    parser.add_argument("--note", default="", help="what else the machine was doing, for the result file")
    parser.add_argument("--out", help="the result file (default: benchmarks/results/arch-<experiment>-<platform>-<date>.json)")
    args = parser.parse_args(argv)
    if args.stop_after is not None and (args.stop_after <= 0 or
                                        (args.experiment == "norms" and args.stop_after % recipe.PROBE_EVERY)):
        parser.error(f"--stop-after must be positive (and a multiple of {recipe.PROBE_EVERY} for norms)")
    run, describe = EXPERIMENTS[args.experiment]
    print(f"arch_experiments: {args.experiment}" + (f", first {args.stop_after} steps" if args.stop_after else ""))
    start = time.perf_counter()
    runs = run(args.only, args.stop_after)
    result = {"benchmark": f"arch-{args.experiment}", "recipe": describe(), "runs": runs,
              **_results.stamp("arch_experiments.py", argv, "snippets/arch/_experiments.py"),
              "wall_seconds": round(time.perf_counter() - start, 1)}
    if args.stop_after:
        result["stop_after"] = args.stop_after
    if args.note:
        result["machine_note"] = args.note
    default = _results.default_path(f"arch-{args.experiment}")
    out = _results.write(Path(args.out) if args.out else default, result)
    print(f"arch_experiments: {len(runs)} runs, {result['wall_seconds']} s -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
