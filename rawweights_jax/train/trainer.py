"""The compiled training step: how the robot student learns from one batch.

One optimizer step: sample a batch on the device, compute the cross-entropy of the model's
next-character guesses (the teacher's score), take its gradient, clip the gradient's global
norm, and let AdamW move every weight. `steps_per_dispatch` such steps run inside one compiled
call (`lax.scan`), so Python only wakes up to log, evaluate and checkpoint (loop.py).

The model is split once into a static graph and a pytree of parameters (`nnx.split`), so the
hot loop works on plain arrays; `nnx.merge` rebuilds the module inside the compiled function,
at trace time only. Every random number comes from `fold_in(seed key, step)`: a run is a pure
function of its RunConfig, which is what makes a resumed run equal to an uninterrupted one.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.flatten_util
import jax.numpy as jnp
import optax
from flax import nnx
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from rawweights_jax.config import RunConfig, Runtime
from rawweights_jax.data.batches import sample_batch
from rawweights_jax.data.shakespeare import Dataset
from rawweights_jax.model.gpt import GPT, init_model
from rawweights_jax.train import monitor
from rawweights_jax.train.loss import cross_entropy, z_loss
from rawweights_jax.train.optimizer import learning_rate, make_optimizer


class TrainState(NamedTuple):
    """Everything a run needs to continue: weights, optimizer moments, step, random key."""

    params: Any        # nnx.State of the model's parameters (float32 master weights)
    opt_state: Any     # optax state (AdamW moments, step count)
    step: jax.Array    # int32 scalar: optimizer steps taken
    key: jax.Array     # uint32[2] base key; step s draws from fold_in(key, s)



def init_state(run: RunConfig, optimizer: optax.GradientTransformation | None = None,
               runtime: Runtime = Runtime()) -> tuple[nnx.GraphDef, TrainState]:
    """A fresh model (weights from the run's seed) and optimizer state (AdamW per the run's
    recipe unless `optimizer` is given), split into static graph and array state."""
    graphdef, params = nnx.split(init_model(run.model, run.train.seed, runtime), nnx.Param)
    opt_state = (optimizer or make_optimizer(run.train)).init(params)
    return graphdef, TrainState(params, opt_state, jnp.zeros((), jnp.int32),
                                jax.random.key_data(jax.random.key(run.train.seed)))


LossFn = Callable[[jax.Array, jax.Array], jax.Array]
"""loss(logits_BTV, targets_BT) -> scalar: what the gradient descends (before the MoE term)."""


class Trainer:
    """Compiled training and evaluation functions for one run, data set, optimizer and mesh.

    Its parts are values, passed in: the optimizer (default: AdamW as the run's recipe says), the
    loss (default: cross-entropy) and the mesh whose `data` axis splits every batch (default:
    None, one device). Nothing is shared between Trainers behind their back: two Trainers
    built side by side are independent, and each compiles its own step.
    """

    def __init__(self, run: RunConfig, graphdef: nnx.GraphDef, data: Dataset, *,
                 optimizer: optax.GradientTransformation | None = None,
                 loss_fn: LossFn = cross_entropy, mesh: Mesh | None = None):
        self.run, self.cfg, self.recipe, self.graphdef = run, run.model, run.train, graphdef
        self.optimizer = optimizer or make_optimizer(run.train)
        self.loss_fn = loss_fn
        self.batch_sharding = _batch_sharding(mesh, run.train.batch_size)
        self.train_Z = self.place(jnp.asarray(data.train_Z))  # each split lives on the device(s)
        self.val_Z = self.place(jnp.asarray(data.val_Z))
        self.run_steps = jax.jit(self._run_steps, static_argnums=2, donate_argnums=0)
        self.estimate_loss = jax.jit(self._estimate_loss, static_argnums=3)
        self._max_logit = jax.jit(lambda params, x_BT: monitor.max_attention_logit(self.model(params), x_BT))

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
        if self.recipe.compute_dtype == "bfloat16":   # bf16 math, float32 master weights
            params = jax.tree.map(lambda p: p.astype(jnp.bfloat16), params)
        logits_BTV, aux = self.model(params)(x_BT, dropout_key=dropout_key,
                                               dropout_rate=self.recipe.dropout, with_aux=True)
        ce = self.loss_fn(logits_BTV, y_BT)
        # Mixture of experts: a small extra loss pushes the router to spread tokens evenly.
        objective = ce + self.recipe.aux_loss_coef * aux["aux_loss"]
        if self.recipe.z_loss > 0:       # keeps log Z of the logits near 0 (train/loss.py)
            objective = objective + self.recipe.z_loss * z_loss(logits_BTV)
        return objective, (ce, aux["load_LE"])

    def gradients(self, params, x_ABT, y_ABT, dropout_keys_A):
        """Gradient of the objective averaged over A micro-batches (gradient accumulation),
        with each micro-batch's cross-entropy [A] and the tokens per expert of each MoE layer.

        On several devices (data parallelism, parallel/sharding.py) each device takes its slice of every
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
        mesh = self.batch_sharding.mesh
        axis = mesh.axis_names[0]

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

    # --8<-- [start:one_step]
    def _one_step(self, data_Z, state: TrainState, _):
        cfg, recipe = self.cfg, self.recipe
        key = jax.random.fold_in(jax.random.wrap_key_data(state.key), state.step)
        # micro-batch i draws its rows and its dropout masks from fold_in(key, i)
        batch_keys_A, dropout_keys_A = jax.vmap(
            lambda i: jax.random.split(jax.random.fold_in(key, i)), out_axes=1)(jnp.arange(recipe.grad_accum))
        x_ABT, y_ABT = jax.vmap(lambda k: sample_batch(data_Z, k, recipe.batch_size, cfg.context_len))(batch_keys_A)
        grads, losses, load_LE = self.gradients(state.params, x_ABT, y_ABT,
                                                dropout_keys_A if recipe.dropout > 0 else None)
        # optax's bias correction raises a float to the int32 step count, which a user's (or the
        # tests') strict dtype promotion refuses; the optimizer's own arithmetic keeps standard.
        with jax.numpy_dtype_promotion("standard"):
            updates, opt_state = self.optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        if cfg.router_bias and recipe.router_bias_rate > 0:   # DeepSeek-V3's balancing by bias
            params = self.nudge_router_bias(params, load_LE)
        metrics = {"loss": losses.mean(), "grad_norm": optax.tree.norm(grads),
                   "lr": learning_rate(recipe, state.step),
                   # per layer, in monitor.group_names order: what the loop logs (monitor.py)
                   "layer_grad_norm": monitor.group_norms(grads),
                   "update_ratio": monitor.update_ratios(updates, state.params)}
        return TrainState(params, opt_state, state.step + 1, state.key), metrics
    # --8<-- [end:one_step]

    def nudge_router_bias(self, params, load_LE):
        """Raise each underloaded expert's choice bias by router_bias_rate, lower overloaded ones."""
        model = self.model(params)
        moe_blocks = [b.mlp for b in model.blocks if getattr(b.mlp, "bias_E", None) is not None]
        for moe, load_E in zip(moe_blocks, load_LE):
            load_E = load_E.astype(jnp.float32)
            nudge_E = self.recipe.router_bias_rate * jnp.sign(load_E.mean() - load_E)
            moe.bias_E[...] = moe.bias_E[...] + nudge_E
        return nnx.state(model, nnx.Param)

    def _run_steps(self, state: TrainState, data_Z, n_steps: int):
        """`n_steps` optimizer steps in one compiled call; per-step metrics stacked."""
        return jax.lax.scan(functools.partial(self._one_step, data_Z), state, length=n_steps)
    # --8<-- [end:step]

    def _estimate_loss(self, params, data_Z, key, n_batches: int):
        def one(_, k):
            x_BT, y_BT = self.shard(*sample_batch(data_Z, k, self.recipe.batch_size, self.cfg.context_len))
            return None, self.loss(params, x_BT, y_BT, None)
        return jax.lax.scan(one, None, jax.random.split(key, n_batches))[1].mean()

    def max_attention_logit(self, state: TrainState) -> list[float]:
        """Each layer's largest attention logit on one fixed validation batch (monitor.py)."""
        x_BT, _ = sample_batch(self.val_Z, jax.random.key(self.recipe.seed + 2),
                               self.recipe.batch_size, self.cfg.context_len)
        return [float(v) for v in self._max_logit(state.params, x_BT)]

    def evaluate(self, state: TrainState, n_batches: int | None = None) -> dict[str, float]:
        """Mean loss over `n_batches` random batches of each split (no dropout)."""
        n = n_batches or self.recipe.eval_iters
        key = jax.random.fold_in(jax.random.key(self.recipe.seed + 1), int(state.step))
        k_train, k_val = jax.random.split(key)
        return {"train_loss": float(self.estimate_loss(state.params, self.train_Z, k_train, n)),
                "val_loss": float(self.estimate_loss(state.params, self.val_Z, k_val, n))}


def _batch_sharding(mesh: Mesh | None, batch: int) -> NamedSharding | None:
    """Rows of a batch spread over the mesh's devices; None for one device or when they do not
    divide the batch (a batch of 12 on 5 devices runs on one)."""
    if mesh is None or mesh.devices.size < 2 or batch % mesh.devices.size:
        return None
    return NamedSharding(mesh, P(mesh.axis_names[0]))
