"""The training run: dispatch compiled steps, log, evaluate, checkpoint, resume.

Python wakes up once per `steps_per_dispatch` optimizer steps (one compiled `lax.scan`), to
record the metrics, evaluate at each `eval_interval`, and write a checkpoint. A resumed run
continues with the very losses an uninterrupted one would have had.

The history also holds what a trainer watches (train/monitor.py): at each log point the
per-layer gradient norms and update-to-weight ratios (`monitor`), at each evaluation the
largest attention logit per layer, and every step whose loss spiked (`spikes`). Checkpoints
beyond the rolling one (the last N, the best) follow the recipe's keep_last and keep_best
(ckpt/keep.py).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import optax
from jax.sharding import Mesh

from rawweights_jax.ckpt import checkpoint as ckpt
from rawweights_jax.ckpt import keep
from rawweights_jax.config import RunConfig, Runtime
from rawweights_jax.data.shakespeare import Dataset
from rawweights_jax.model.gpt import GPT
from rawweights_jax.train.loss import cross_entropy
from rawweights_jax.train.monitor import group_names, is_spike
from rawweights_jax.train.trainer import LossFn, Trainer, TrainState, init_state


def _fmt_time(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class TrainResult(NamedTuple):
    model: GPT
    state: TrainState
    history: dict[str, Any]
    trainer: Trainer        # its compiled evaluation serves further measurements
    steps_run: int          # optimizer steps this call took (0: a resumed run already done)


def empty_history() -> dict[str, Any]:
    return {"step": [], "loss": [], "grad_norm": [], "lr": [], "tokens_per_second": [],
            "eval": [], "spikes": [], "monitor": [], "layers": []}


def attention_logits(trainer: Trainer, state: TrainState) -> dict[str, list[float]]:
    """{"max_attention_logit": one per layer}, or {} for a model the trace cannot read (MLA)."""
    try:
        return {"max_attention_logit": trainer.max_attention_logit(state)}
    except TypeError:
        return {}


def train(run: RunConfig, data: Dataset, *, out_dir: str | Path | None = None,
          resume: bool = False, snapshot_steps: tuple[int, ...] = (),
          progress: Callable[[str], None] | None = print, log_interval: int = 100,
          optimizer: optax.GradientTransformation | None = None, loss_fn: LossFn = cross_entropy,
          mesh: Mesh | None = None, runtime: Runtime = Runtime()) -> TrainResult:
    """Train the run's model on `data` by its recipe; checkpoint into `out_dir` at each
    evaluation and at the end (the folder is checked to be writable before training starts).

    With `resume=True`, continue from `out_dir/ckpt.safetensors` (the same losses follow as
    if the run had never stopped). `snapshot_steps` keeps extra checkpoints
    `ckpt_step{N}.safetensors` at those steps (the site shows samples from them).
    `optimizer` (default: AdamW per the run's recipe), `loss_fn` and `mesh` (default: one device;
    `parallel.mesh.device_mesh()` spreads each batch over every local device) go to the Trainer; `runtime` picks the
    model's kernels (attention backend, expert dispatch).
    """
    if data.tokenizer.vocab_size > run.model.vocab_size:
        raise ValueError(f"the data has {data.tokenizer.vocab_size} distinct tokens but "
                         f"ModelConfig.vocab_size={run.model.vocab_size}")
    say = progress or (lambda _: None)
    graphdef, state = init_state(run, optimizer, runtime)
    history = empty_history()
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:       # fail now, not at the first checkpoint minutes later
        ckpt.prepare_folder(out)
    if resume:
        if out is None:
            raise ValueError("resume=True needs out_dir")
        state, history = ckpt.load_train_state(out / ckpt.LATEST, run, state, data.tokenizer)
        say(f"resumed from {out / ckpt.LATEST} at step {int(state.step)}")
    for key, value in empty_history().items():     # a history saved before monitoring existed
        history.setdefault(key, value)
    history["layers"] = group_names(state.params)
    trainer = Trainer(run, graphdef, data, optimizer=optimizer, loss_fn=loss_fn, mesh=mesh)
    state = trainer.place(state)
    save = lambda name: ckpt.save(out / name, run, state.params, state.opt_state, int(state.step),
                                  state.key, data.tokenizer, history)

    step = start = int(state.step)
    if step >= run.train.max_iters:
        say(f"nothing to do: the checkpoint is at step {step}, max_iters={run.train.max_iters}")
    boundaries = sorted({*range(run.train.eval_interval, run.train.max_iters, run.train.eval_interval),
                         *(s for s in snapshot_steps if step < s <= run.train.max_iters), run.train.max_iters})
    t_start, steps_timed, time_timed, compiled = time.perf_counter(), 0, 0.0, set()
    say(f"training {run.model.n_layers}-layer model, {run.train.max_iters} steps of "
        f"{run.tokens_per_iter} tokens, from step {step}")
    while step < run.train.max_iters:
        target = next(b for b in boundaries if b > step)
        n = min(run.train.steps_per_dispatch, target - step)
        t0 = time.perf_counter()
        state, metrics = trainer.run_steps(state, trainer.train_Z, n)
        metrics = jax.device_get(metrics)                 # one host sync per dispatch
        dt = time.perf_counter() - t0
        tps = n * run.tokens_per_iter / dt
        for i in range(n):
            loss = float(metrics["loss"][i])
            if is_spike(history["loss"], loss, run.train.spike_factor, run.train.spike_window):
                history["spikes"].append(step + i + 1)
                say(f"loss spike at step {step + i + 1}: {loss:.4f}")
            history["step"].append(step + i + 1)
            for name in ("loss", "grad_norm", "lr"):
                history[name].append(float(metrics[name][i]))
            history["tokens_per_second"].append(tps)
        if n in compiled:                  # a dispatch of a new length includes compilation
            steps_timed, time_timed = steps_timed + n, time_timed + dt
        compiled.add(n)
        step += n
        if step % log_interval == 0 or step == run.train.max_iters or step == target:
            history["monitor"].append({"step": step, **{  # the last step of the dispatch
                k: [float(v) for v in metrics[k][-1]] for k in ("layer_grad_norm", "update_ratio")}})
            rate = steps_timed / time_timed if time_timed else n / dt
            eta = (run.train.max_iters - step) / rate
            line = (f"step {step:>6}/{run.train.max_iters} | loss {history['loss'][-1]:.4f} | "
                    f"{tps:,.0f} tok/s | ETA {_fmt_time(eta)}")
            if step % run.train.eval_interval == 0 or step == run.train.max_iters:
                ev = trainer.evaluate(state)
                best = keep.is_best(history["eval"], ev["val_loss"])
                history["eval"].append({"step": step, **ev, **attention_logits(trainer, state)})
                line += f" | eval train {ev['train_loss']:.4f} val {ev['val_loss']:.4f}"
                if out is not None:
                    save(ckpt.LATEST)
                    if run.train.keep_last:         # the new file first, then drop the oldest
                        save(keep.last_name(step))
                        keep.prune_last(out, run.train.keep_last)
                    if run.train.keep_best and best:
                        save(keep.BEST)
            say(line)
        if out is not None and step in snapshot_steps:
            save(f"ckpt_step{step}.safetensors")
    # (the last step always evaluates and saves ckpt.safetensors, inside the loop)
    if step > start:
        history["wall_seconds"] = time.perf_counter() - t_start
    return TrainResult(trainer.model(state.params), state, history, trainer, step - start)
