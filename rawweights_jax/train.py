"""How the robot student learns: loss, AdamW, learning-rate schedule, and the training loop.

One optimizer step: sample a batch on the device, compute the cross-entropy of the model's
next-character guesses (the teacher's score), take its gradient, clip the gradient's global
norm, and let AdamW move every weight. `steps_per_dispatch` such steps run inside one compiled
call (`lax.scan`), so Python only wakes up to log, evaluate and checkpoint.

The model is split once into a static graph and a pytree of parameters (`nnx.split`), so the
hot loop works on plain arrays; `nnx.merge` rebuilds the module inside the compiled function,
at trace time only. Every random number comes from `fold_in(seed key, step)`: a run is a pure
function of its Config, which is what makes a resumed run equal to an uninterrupted one.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from rawweights_jax.config import Config
from rawweights_jax.data import Dataset, sample_batch
from rawweights_jax.model import GPT, init_model


class TrainState(NamedTuple):
    """Everything a run needs to continue: weights, optimizer moments, step, random key."""

    params: Any        # nnx.State of the model's parameters (float32 master weights)
    opt_state: Any     # optax state (AdamW moments, step count)
    step: jax.Array    # int32 scalar: optimizer steps taken
    key: jax.Array     # uint32[2] base key; step s draws from fold_in(key, s)


# --8<-- [start:schedule]
def learning_rate(cfg: Config, step):
    """Linear warm-up to `lr`, cosine decay to `min_lr` at `lr_decay_iters`, then flat."""
    step = jnp.asarray(step, jnp.float32)
    warm = cfg.lr * (step + 1) / (cfg.warmup_iters + 1)
    progress = jnp.clip((step - cfg.warmup_iters) / max(cfg.lr_decay_iters - cfg.warmup_iters, 1), 0, 1)
    cosine = cfg.min_lr + 0.5 * (1 + jnp.cos(jnp.pi * progress)) * (cfg.lr - cfg.min_lr)
    return jnp.where(step < cfg.warmup_iters, warm, cosine)
# --8<-- [end:schedule]


def is_matrix(path) -> bool:
    """Weight matrices are named w..._ (wqkv_DKJH, w_in_DF, wte_VD...) or lm_head_DV; biases
    b..., norm scales scale_D. (Shape alone cannot tell: a per-head bias bqkv_KJH is 3-D.)"""
    names = [str(getattr(k, "key", getattr(k, "name", ""))) for k in path]
    leaf = next((n for n in reversed(names) if n and n != "value"), "")
    return leaf.startswith("w") or leaf.startswith("lm_head")


# --8<-- [start:optimizer]
def make_optimizer(cfg: Config) -> optax.GradientTransformation:
    """AdamW with global-norm clipping; weight decay on matrices only (not biases or norms)."""
    decay_mask = lambda params: jax.tree_util.tree_map_with_path(
        lambda path, _: is_matrix(path), params)
    adamw = optax.adamw(functools.partial(learning_rate, cfg), b1=cfg.beta1, b2=cfg.beta2,
                        eps=1e-8, weight_decay=cfg.weight_decay, mask=decay_mask)
    if cfg.grad_clip > 0:
        return optax.chain(optax.clip_by_global_norm(cfg.grad_clip), adamw)
    return adamw
# --8<-- [end:optimizer]


# --8<-- [start:loss]
def cross_entropy(logits_BTV, targets_BT):
    """Mean negative log-probability of the right next token: the teacher's score."""
    logprobs_BTV = jax.nn.log_softmax(logits_BTV.astype(jnp.float32), axis=-1)
    return -jnp.take_along_axis(logprobs_BTV, targets_BT[..., None], axis=-1).mean()
# --8<-- [end:loss]


def init_state(cfg: Config) -> tuple[nnx.GraphDef, TrainState]:
    """A fresh model and optimizer for `cfg`, split into static graph and array state."""
    graphdef, params = nnx.split(init_model(cfg), nnx.Param)
    opt_state = make_optimizer(cfg).init(params)
    return graphdef, TrainState(params, opt_state, jnp.zeros((), jnp.int32),
                                jax.random.key_data(jax.random.key(cfg.seed)))


_COMPILED: dict = {}     # (Trainer class, Config without seed, sharded?) -> jitted functions


class Trainer:
    """Compiled training and evaluation functions for one Config and data set.

    The compiled functions depend only on the Config (not its seed: randomness enters through
    the state's key; the model graph follows from the Config) and the class, so Trainers that
    agree on those share them
    and a second run in the same process does not compile again. Subclasses may override
    `make_optimizer` (the site's optimizer comparison does).
    """

    def __init__(self, cfg: Config, graphdef: nnx.GraphDef, data: Dataset):
        self.cfg, self.graphdef = cfg, graphdef
        self.optimizer = self.make_optimizer()
        self.batch_sharding = _batch_sharding(cfg.batch_size)
        self.train_N = self.place(jnp.asarray(data.train_N))  # each split lives on the device(s)
        self.val_N = self.place(jnp.asarray(data.val_N))
        # A subclass with its own make_optimizer may return a different optimizer per instance
        # (one passed to its constructor, say): its compiled functions are never shared.
        custom = type(self).make_optimizer is not Trainer.make_optimizer
        key = (type(self), cfg.replace(seed=0), self.batch_sharding is not None,
               id(self) if custom else None)
        if key not in _COMPILED:
            if len(_COMPILED) >= 16:
                _COMPILED.pop(next(iter(_COMPILED)))
            _COMPILED[key] = (jax.jit(self._run_steps, static_argnums=2, donate_argnums=0),
                              jax.jit(self._estimate_loss, static_argnums=3))
        self.run_steps, self.estimate_loss = _COMPILED[key]

    def make_optimizer(self) -> optax.GradientTransformation:
        return make_optimizer(self.cfg)

    def place(self, tree):
        """Copy arrays to every device (replicated) when the batch is split across devices."""
        if self.batch_sharding is None:
            return tree
        return jax.device_put(tree, NamedSharding(self.batch_sharding.mesh, P()))

    def shard(self, *batch_arrays):
        """Split batch rows across devices (data parallelism); a no-op on one device."""
        if self.batch_sharding is None:
            return batch_arrays
        return tuple(jax.lax.with_sharding_constraint(x, self.batch_sharding) for x in batch_arrays)

    def model(self, params) -> GPT:
        return nnx.merge(self.graphdef, params)

    # --8<-- [start:step]
    def loss(self, params, x_BT, y_BT, dropout_key):
        """The cross-entropy alone (what evaluation reports)."""
        return self.loss_and_aux(params, x_BT, y_BT, dropout_key)[1][0]

    def loss_and_aux(self, params, x_BT, y_BT, dropout_key):
        """(what the gradient descends, (cross-entropy, tokens per expert of each MoE layer))."""
        if self.cfg.compute_dtype == "bfloat16":   # bf16 math, float32 master weights
            params = jax.tree.map(lambda p: p.astype(jnp.bfloat16), params)
        logits_BTV, aux = self.model(params)(x_BT, dropout_key=dropout_key, with_aux=True)
        ce = cross_entropy(logits_BTV, y_BT)
        # Mixture of experts: a small extra loss pushes the router to spread tokens evenly.
        return ce + self.cfg.aux_loss_coef * aux["aux_loss"], (ce, aux["load_LE"])

    def gradients(self, params, x_ABT, y_ABT, dropout_keys_A):
        """Gradient of the objective averaged over A micro-batches (gradient accumulation),
        with each micro-batch's cross-entropy [A] and the tokens per expert of each MoE layer.

        On several devices (data parallelism, parallel.py) each device takes its slice of every
        micro-batch's rows, accumulates its own gradient, and the devices average theirs once
        per step, in one `pmean` of a single flat vector. XLA's own placement of that sum
        (GSPMD, from a sharding constraint on the batch) met the devices once per weight and
        per micro-batch: 27 rendezvous of the CPU threads a step, 3 ms of 34.
        `check_vma=False`: the weights enter replicated, and each device's gradient stays its
        own until the explicit pmean (with the check on, JAX would psum them a second time).
        """
        A = x_ABT.shape[0]

        def accumulate(params, x_ABT, y_ABT, dropout_keys_A):
            def micro_batch(grads, batch):
                (_, (ce, load)), g = jax.value_and_grad(self.loss_and_aux, has_aux=True)(params, *batch)
                return jax.tree.map(lambda a, b: a + b / A, grads, g), (ce, load)
            zeros = jax.tree.map(jnp.zeros_like, params)
            grads, (ce_A, load_ALE) = jax.lax.scan(micro_batch, zeros, (x_ABT, y_ABT, dropout_keys_A))
            return grads, ce_A, load_ALE.sum(0)
        if self.batch_sharding is None:
            return accumulate(params, x_ABT, y_ABT, dropout_keys_A)
        mesh, axis = self.batch_sharding.mesh, "data"

        def on_each_device(params, x_ABT, y_ABT, dropout_keys_A):
            if dropout_keys_A is not None:   # each slice of rows gets its own dropout masks
                index = jax.lax.axis_index(axis)
                dropout_keys_A = jax.vmap(lambda k: jax.random.fold_in(k, index))(dropout_keys_A)
            grads, ce_A, load_LE = accumulate(params, x_ABT, y_ABT, dropout_keys_A)
            flat, unflatten = jax.flatten_util.ravel_pytree(grads)
            return (unflatten(jax.lax.pmean(flat, axis)), jax.lax.pmean(ce_A, axis),
                    jax.lax.psum(load_LE, axis))
        return jax.shard_map(on_each_device, mesh=mesh, in_specs=(P(), P(None, axis), P(None, axis), P()),
                             out_specs=(P(), P(), P()), check_vma=False)(
            params, x_ABT, y_ABT, dropout_keys_A)

    def _one_step(self, data_N, state: TrainState, _):
        cfg = self.cfg
        key = jax.random.fold_in(jax.random.wrap_key_data(state.key), state.step)
        # micro-batch i draws its rows and its dropout masks from fold_in(key, i)
        batch_keys_A, dropout_keys_A = jax.vmap(
            lambda i: jax.random.split(jax.random.fold_in(key, i)), out_axes=1)(jnp.arange(cfg.grad_accum))
        x_ABT, y_ABT = jax.vmap(lambda k: sample_batch(data_N, k, cfg.batch_size, cfg.context_len))(batch_keys_A)
        grads, losses, load_LE = self.gradients(state.params, x_ABT, y_ABT,
                                                dropout_keys_A if cfg.dropout > 0 else None)
        updates, opt_state = self.optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        if cfg.router_bias and cfg.router_bias_rate > 0:   # DeepSeek-V3's balancing by bias
            params = self.nudge_router_bias(params, load_LE)
        metrics = {"loss": losses.mean(), "grad_norm": optax.tree.norm(grads),
                   "lr": learning_rate(cfg, state.step)}
        return TrainState(params, opt_state, state.step + 1, state.key), metrics

    def nudge_router_bias(self, params, load_LE):
        """Raise each underloaded expert's choice bias by router_bias_rate, lower overloaded ones."""
        model = self.model(params)
        moe_blocks = [b.mlp for b in model.blocks if getattr(b.mlp, "bias_E", None) is not None]
        for moe, load_E in zip(moe_blocks, load_LE):
            load_E = load_E.astype(jnp.float32)
            nudge_E = self.cfg.router_bias_rate * jnp.sign(load_E.mean() - load_E)
            moe.bias_E[...] = moe.bias_E[...] + nudge_E
        return nnx.state(model, nnx.Param)

    def _run_steps(self, state: TrainState, data_N, n_steps: int):
        """`n_steps` optimizer steps in one compiled call; per-step metrics stacked."""
        return jax.lax.scan(functools.partial(self._one_step, data_N), state, length=n_steps)
    # --8<-- [end:step]

    def _estimate_loss(self, params, data_N, key, n_batches: int):
        def one(_, k):
            x_BT, y_BT = self.shard(*sample_batch(data_N, k, self.cfg.batch_size, self.cfg.context_len))
            return None, self.loss(params, x_BT, y_BT, None)
        return jax.lax.scan(one, None, jax.random.split(key, n_batches))[1].mean()

    def evaluate(self, state: TrainState, n_batches: int | None = None) -> dict[str, float]:
        """Mean loss over `n_batches` random batches of each split (no dropout)."""
        n = n_batches or self.cfg.eval_iters
        key = jax.random.fold_in(jax.random.key(self.cfg.seed + 1), int(state.step))
        k_train, k_val = jax.random.split(key)
        return {"train_loss": float(self.estimate_loss(state.params, self.train_N, k_train, n)),
                "val_loss": float(self.estimate_loss(state.params, self.val_N, k_val, n))}


def _batch_sharding(batch: int) -> NamedSharding | None:
    """Rows of a batch spread over all local devices, when there are several and they divide it."""
    devices = jax.local_devices()
    if len(devices) < 2 or batch % len(devices):
        return None
    return NamedSharding(Mesh(np.array(devices), ("data",)), P("data"))


def _fmt_time(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class TrainResult(NamedTuple):
    model: GPT
    state: TrainState
    history: dict[str, Any]


def empty_history() -> dict[str, Any]:
    return {"step": [], "loss": [], "grad_norm": [], "lr": [], "tokens_per_second": [],
            "eval": []}


def train(cfg: Config, data: Dataset, *, out_dir: str | Path | None = None,
          resume: bool = False, snapshot_steps: tuple[int, ...] = (),
          progress: Callable[[str], None] | None = print,
          log_interval: int = 100) -> TrainResult:
    """Train `cfg` on `data`; checkpoint into `out_dir` at each evaluation and at the end.

    With `resume=True`, continue from `out_dir/ckpt.safetensors` (the same losses follow as
    if the run had never stopped). `snapshot_steps` keeps extra checkpoints
    `ckpt_step{N}.safetensors` at those steps (the site shows samples from them).
    """
    from rawweights_jax import checkpoint as ckpt

    if data.tokenizer.vocab_size > cfg.vocab_size:
        raise ValueError(f"the data has {data.tokenizer.vocab_size} distinct tokens but "
                         f"Config.vocab_size={cfg.vocab_size}")
    say = progress or (lambda _: None)
    graphdef, state = init_state(cfg)
    history = empty_history()
    out = Path(out_dir) if out_dir is not None else None
    if resume:
        if out is None:
            raise ValueError("resume=True needs out_dir")
        state, history = ckpt.load_train_state(out / ckpt.LATEST, cfg, state)
        say(f"resumed from {out / ckpt.LATEST} at step {int(state.step)}")
    trainer = Trainer(cfg, graphdef, data)
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
        state, metrics = trainer.run_steps(state, trainer.train_N, n)
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
    return TrainResult(trainer.model(state.params), state, history)
