"""The training run: dispatch compiled steps, log, evaluate, checkpoint, resume.

Python wakes up once per `steps_per_dispatch` optimizer steps (one compiled `lax.scan`), to
record the metrics, evaluate at each `eval_interval`, and write a checkpoint. A resumed run
continues with the very losses an uninterrupted one would have had.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import optax
from jax.sharding import Mesh

from rawweights_jax.ckpt import checkpoint as ckpt
from rawweights_jax.config import Config
from rawweights_jax.data.shakespeare import Dataset
from rawweights_jax.model.gpt import GPT
from rawweights_jax.train.loss import cross_entropy
from rawweights_jax.train.trainer import LossFn, Trainer, TrainState, init_state


def _fmt_time(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class TrainResult(NamedTuple):
    model: GPT
    state: TrainState
    history: dict[str, Any]
    trainer: Trainer        # its compiled evaluation serves further measurements


def empty_history() -> dict[str, Any]:
    return {"step": [], "loss": [], "grad_norm": [], "lr": [], "tokens_per_second": [],
            "eval": []}


def train(cfg: Config, data: Dataset, *, out_dir: str | Path | None = None,
          resume: bool = False, snapshot_steps: tuple[int, ...] = (),
          progress: Callable[[str], None] | None = print, log_interval: int = 100,
          optimizer: optax.GradientTransformation | None = None, loss_fn: LossFn = cross_entropy,
          mesh: Mesh | None = None) -> TrainResult:
    """Train `cfg` on `data`; checkpoint into `out_dir` at each evaluation and at the end.

    With `resume=True`, continue from `out_dir/ckpt.safetensors` (the same losses follow as
    if the run had never stopped). `snapshot_steps` keeps extra checkpoints
    `ckpt_step{N}.safetensors` at those steps (the site shows samples from them).
    `optimizer` (default: AdamW per the Config), `loss_fn` and `mesh` (default: one device;
    `parallel.mesh.device_mesh()` spreads each batch over every local device) go to the Trainer.
    """
    if data.tokenizer.vocab_size > cfg.vocab_size:
        raise ValueError(f"the data has {data.tokenizer.vocab_size} distinct tokens but "
                         f"Config.vocab_size={cfg.vocab_size}")
    say = progress or (lambda _: None)
    graphdef, state = init_state(cfg, optimizer)
    history = empty_history()
    out = Path(out_dir) if out_dir is not None else None
    if resume:
        if out is None:
            raise ValueError("resume=True needs out_dir")
        state, history = ckpt.load_train_state(out / ckpt.LATEST, cfg, state)
        say(f"resumed from {out / ckpt.LATEST} at step {int(state.step)}")
    trainer = Trainer(cfg, graphdef, data, optimizer=optimizer, loss_fn=loss_fn, mesh=mesh)
    state = trainer.place(state)
    save = lambda name: ckpt.save(out / name, cfg, state.params, state.opt_state, int(state.step),
                                  state.key, data.tokenizer.chars, history)

    step = int(state.step)
    boundaries = sorted({*range(cfg.eval_interval, cfg.max_iters, cfg.eval_interval),
                         *(s for s in snapshot_steps if step < s <= cfg.max_iters), cfg.max_iters})
    t_start, steps_timed, time_timed, compiled = time.perf_counter(), 0, 0.0, set()
    say(f"training {cfg.n_layers}-layer model, {cfg.max_iters} steps of "
        f"{cfg.tokens_per_iter} tokens, from step {step}")
    while step < cfg.max_iters:
        target = next(b for b in boundaries if b > step)
        n = min(cfg.steps_per_dispatch, target - step)
        t0 = time.perf_counter()
        state, metrics = trainer.run_steps(state, trainer.train_Z, n)
        metrics = jax.device_get(metrics)                 # one host sync per dispatch
        dt = time.perf_counter() - t0
        tps = n * cfg.tokens_per_iter / dt
        for i in range(n):
            history["step"].append(step + i + 1)
            for name in ("loss", "grad_norm", "lr"):
                history[name].append(float(metrics[name][i]))
            history["tokens_per_second"].append(tps)
        if n in compiled:                  # a dispatch of a new length includes compilation
            steps_timed, time_timed = steps_timed + n, time_timed + dt
        compiled.add(n)
        step += n
        if step % log_interval == 0 or step == cfg.max_iters or step == target:
            rate = steps_timed / time_timed if time_timed else n / dt
            eta = (cfg.max_iters - step) / rate
            line = (f"step {step:>6}/{cfg.max_iters} | loss {history['loss'][-1]:.4f} | "
                    f"{tps:,.0f} tok/s | ETA {_fmt_time(eta)}")
            if step % cfg.eval_interval == 0 or step == cfg.max_iters:
                ev = trainer.evaluate(state)
                history["eval"].append({"step": step, **ev})
                line += f" | eval train {ev['train_loss']:.4f} val {ev['val_loss']:.4f}"
                if out is not None:
                    save(ckpt.LATEST)
            say(line)
        if out is not None and step in snapshot_steps:
            save(f"ckpt_step{step}.safetensors")
    # (the last step always evaluates and saves ckpt.safetensors, inside the loop)
    history["wall_seconds"] = time.perf_counter() - t_start
    return TrainResult(trainer.model(state.params), state, history, trainer)
