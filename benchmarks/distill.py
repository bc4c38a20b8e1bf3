"""Distillation: a small student trained on the robot student's soft targets, against the same
small student trained on the right characters alone.

    python benchmarks/distill.py                       # every run below, ~7 min on 2 cores
    python benchmarks/distill.py --only "soft, T=2" --stop-after 20 --out /tmp/point.json
                                                       # the cheapest point (a test re-runs it)

The teacher is the site's robot student (the `shakespeare-char-cpu` preset trained for 2,000
steps: `snippets/robot/_student.py`, a shared result trained once per library version; give
`--teacher` a checkpoint to use another). Every student starts from the same weights, sees the
same batches in the same order with the same learning-rate schedule; only the loss differs
(`rawweights_jax/train/distill.py`: alpha = 0 is the ordinary cross-entropy). Each run is
evaluated on the validation split every EVAL_EVERY steps, scored at the end on 512 evenly
spaced validation windows (the same ones for the teacher), and writes a greedy and a sampled
continuation of one prompt from one seed.

The runs need several minutes of a 2-core CPU, more than a page may spend on a cold build (the
build budget in docs/contributing.md), so this is a benchmark: it writes
`benchmarks/results/distill-<platform>-<date>.json` (device, date, command, commit and every
run's curves and samples), the file is committed, and `snippets/inference/distill_results.py`
reads it. `--stop-after N` trains only the first N steps of the chosen runs with the schedule
unchanged, skipping the final scoring and samples: `tests/test_site_budget.py` compares such a
point with the committed file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import _results

PRESET = "shakespeare-char-cpu"
EVAL_EVERY = 100
EVAL_BATCHES = 40       # of 12 x 64 characters: the curves' validation points
PROMPT = "JULIET:\n"
CONTEXT = "ROMEO:\nI will go with thee, my lo"   # where the teacher's distribution is shown
SAMPLE_CHARS = 240

# --8<-- [start:runs]
STUDENT = dict(n_layers=2, d_model=64, n_heads=4)   # the robot student shrunk: 2 layers of width 64
RUNS = {  # name -> (temperature, alpha, seed): alpha = 0 is hard labels only
    "hard labels": (1.0, 0.0, 1337),
    "soft, T=2": (2.0, 0.5, 1337),        # half soft targets, half hard labels
    "soft only, T=2": (2.0, 1.0, 1337),   # the teacher's distribution alone
    "soft, T=4": (4.0, 0.5, 1337),
    "hard labels, seed 7": (1.0, 0.0, 7),  # other weights and batches: the noise between runs
    "soft, T=2, seed 7": (2.0, 0.5, 7),
}
# --8<-- [end:runs]


def teacher_path(given: Path | None) -> Path:
    """The checkpoint given, else the site's robot student (trained now if this library has none)."""
    if given is not None:
        return given
    sys.path.insert(0, str(_results.ROOT / "snippets" / "robot"))
    import _student

    return _student.student_dir()


def _relative(path: Path) -> str:
    path = path.resolve()
    return str(path.relative_to(_results.ROOT)) if path.is_relative_to(_results.ROOT) else str(path)


def teacher_view(teacher, tok, val_Z, ctx: int) -> dict:
    """What the soft targets hold: the teacher's mean probability of the right next character on
    the 512 validation windows, and its top characters after CONTEXT at T = 1, 2 and 4."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from rawweights_jax.data.batches import spaced_windows

    x_NT, y_NT = spaced_windows(val_Z, ctx, 512)
    p_right = np.concatenate([np.asarray(jnp.take_along_axis(jax.nn.softmax(teacher(x_NT[i:i + 64]), -1),
                                                             y_NT[i:i + 64, :, None], -1)) for i in range(0, 512, 64)])
    logits_V = np.asarray(teacher(jnp.asarray([tok.encode(CONTEXT[-ctx:])]))[0, -1], np.float64)
    top = {}
    for t in (1, 2, 4):
        p_V = np.exp(logits_V / t - np.logaddexp.reduce(logits_V / t))
        top[str(t)] = [[tok.chars[i], round(float(p_V[i]), 4)] for i in np.argsort(-p_V)[:8]]
    return {"mean_p_right": round(float(p_right.mean()), 4), "context": CONTEXT, "top": top}


def student_run():
    from rawweights_jax.config import preset

    return preset(PRESET).replace(**STUDENT, eval_interval=EVAL_EVERY)


def distill_runs(teacher_ckpt: Path, only: list[str], stop_after: int | None, say=print) -> tuple[dict, dict]:
    """The teacher's scores, and each chosen run's curves, final score and samples."""
    from rawweights_jax.ckpt.checkpoint import load_model
    from rawweights_jax.data.shakespeare import load_shakespeare
    from rawweights_jax.inference.generate import generate
    from rawweights_jax.inference.quant import val_loss
    from rawweights_jax.model.gpt import count_params
    from rawweights_jax.train.distill import distill

    data = load_shakespeare()
    teacher, tok, teacher_cfg, meta = load_model(teacher_ckpt)
    if tok.chars != data.tokenizer.chars:
        raise SystemExit(f"{teacher_ckpt}: the teacher's characters differ from tiny Shakespeare's")
    run = student_run()
    ctx = run.model.context_len
    prompt = tok.encode(PROMPT)

    def samples(model) -> dict:
        write = lambda t: tok.decode(generate(model, [prompt], SAMPLE_CHARS, temperature=t, seed=0,
                                              vocab=tok.vocab_size)[0])
        return {"greedy": write(0.0), "sampled, T=0.8": write(0.8)}

    m = teacher_cfg.model
    teach = {"n_layers": m.n_layers, "d_model": m.d_model, "n_heads": m.n_heads, "params": count_params(teacher),
             "step": int(meta["step"]), "checkpoint": _relative(teacher_ckpt)}
    if not stop_after:
        teach.update(val_loss=round(val_loss(teacher, data.val_Z, ctx, count=512), 5),
                              samples=samples(teacher), view=teacher_view(teacher, tok, data.val_Z, ctx))
    out = {}
    for name in only:
        temperature, alpha, seed = RUNS[name]
        t0 = time.perf_counter()
        result = distill(run.replace(seed=seed), data, teacher, temperature=temperature, alpha=alpha,
                         stop_after=stop_after, eval_batches=EVAL_BATCHES, progress=None)
        h = result.history
        entry = {"temperature": temperature, "alpha": alpha, "seed": seed, "params": count_params(result.model),
                 "loss": [round(x, 6) for x in h["loss"]],
                 "eval": [{k: round(v, 6) if k != "step" else v for k, v in e.items()} for e in h["eval"]],
                 "train_seconds": round(h["wall_seconds"], 1)}
        if not stop_after:
            entry["val_loss"] = round(val_loss(result.model, data.val_Z, ctx, count=512), 5)
            entry["samples"] = samples(result.model)
        out[name] = entry
        say(f"  {name:16} val {entry.get('val_loss', entry['eval'][-1]['val_loss']):.4f}  "
            f"({time.perf_counter() - t0:.0f} s)")
    return teach, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", type=Path, help="teacher checkpoint (default: the site's robot student)")
    parser.add_argument("--only", action="append", choices=list(RUNS), help="a run to train (repeatable; default: all)")
    parser.add_argument("--stop-after", type=int, help="train only the first N steps (schedule unchanged)")
    parser.add_argument("--out", type=Path, help="the result file (default: benchmarks/results/distill-<platform>-<date>.json)")
    args = parser.parse_args(argv)
    if args.stop_after is not None and args.stop_after <= 0:
        parser.error(f"--stop-after must be a positive number of steps, not {args.stop_after}")
    start = time.perf_counter()
    only = args.only or list(RUNS)
    run = student_run()
    print(f"distill: {', '.join(only)}; {run.train.max_iters} steps of {run.tokens_per_iter} characters"
          + (f", stopping after {args.stop_after}" if args.stop_after else ""))
    teacher, runs = distill_runs(teacher_path(args.teacher), only, args.stop_after)
    result = {"benchmark": "distill", "student": json.loads(run.to_json()), "eval_every": EVAL_EVERY,
              "prompt": PROMPT, "teacher": teacher, "runs": runs, **_results.stamp("distill.py", argv),
              "wall_seconds": round(time.perf_counter() - start, 1)}
    if args.stop_after:
        result["stop_after"] = args.stop_after
    out = _results.write(args.out or _results.default_path("distill"), result)
    print(f"distill: {result['wall_seconds']} s -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
