"""Distillation: a small student learns from a frozen teacher's whole next-token distribution.

The ordinary loss (loss.py) scores only the probability the model gives the one character that
came next. A trained teacher knows more: after "th" it gives "e" most of its probability but
"a", "i" and "o" some, and "z" almost none. Hinton, Vinyals and Dean (2015) train a student to
match that whole distribution, softened by a temperature T, mixed with the ordinary loss:

    loss = alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))
           + (1 - alpha) * cross-entropy(student, the right next token)

The T^2 keeps the soft term's gradients the same size whatever T is (softening divides them by
about T^2). `alpha = 0` is ordinary training, exactly; `alpha = 1` is distillation alone.

The training step is the library's own (trainer.py: the batches, the optimizer, the compiled
`lax.scan` of steps); `DistillTrainer` changes only what the gradient descends, and computes
the teacher's logits for the same batch inside the same compiled step, with no gradient.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from jax.sharding import Mesh

from rawweights_jax.config import RunConfig
from rawweights_jax.data.shakespeare import Dataset
from rawweights_jax.model.gpt import GPT
from rawweights_jax.train.loop import TrainResult
from rawweights_jax.train.loss import cross_entropy
from rawweights_jax.train.trainer import Trainer, init_state


def check_distill(temperature: float, alpha: float) -> None:
    """ValueError unless temperature > 0 and 0 <= alpha <= 1."""
    if not (isinstance(temperature, (int, float)) and temperature > 0):
        raise ValueError(f"temperature={temperature!r} is invalid: expected a number > 0")
    if not (isinstance(alpha, (int, float)) and 0 <= alpha <= 1):
        raise ValueError(f"alpha={alpha!r} is invalid: expected a number in [0, 1]")


# --8<-- [start:loss]
def soft_target_kl(student_logits_BTV, teacher_logits_BTV, temperature: float):
    """KL(teacher_T || student_T) per position, averaged: how far the student's softened
    distribution is from the teacher's. The teacher is a constant (no gradient flows into it)."""
    teacher_BTV = jax.lax.stop_gradient(teacher_logits_BTV).astype(jnp.float32) / temperature
    p_BTV = jax.nn.softmax(teacher_BTV, axis=-1)
    log_p_BTV = jax.nn.log_softmax(teacher_BTV, axis=-1)
    log_q_BTV = jax.nn.log_softmax(student_logits_BTV.astype(jnp.float32) / temperature, axis=-1)
    return (p_BTV * (log_p_BTV - log_q_BTV)).sum(-1).mean()


def distill_loss(student_logits_BTV, teacher_logits_BTV, targets_BT, *,
                 temperature: float = 2.0, alpha: float = 0.5):
    """alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * cross-entropy on the targets."""
    check_distill(temperature, alpha)
    if student_logits_BTV.shape != teacher_logits_BTV.shape:
        raise ValueError(f"student logits {student_logits_BTV.shape} and teacher logits "
                         f"{teacher_logits_BTV.shape} differ: the two models must share the "
                         "vocabulary and see the same batch")
    hard = cross_entropy(student_logits_BTV, targets_BT)
    if alpha == 0:                       # hard labels only: the ordinary loss, bit for bit
        return hard
    soft = soft_target_kl(student_logits_BTV, teacher_logits_BTV, temperature)
    return alpha * temperature ** 2 * soft + (1 - alpha) * hard
# --8<-- [end:loss]


class DistillTrainer(Trainer):
    """The library's Trainer, descending `distill_loss` against a frozen `teacher`.

    Everything else is the Trainer's: batches, optimizer, gradient clipping, the compiled
    multi-step scan, evaluation. The metric `loss` and evaluation stay the plain cross-entropy
    on the right next characters, so a distilled and a hard-label student compare directly.
    """

    def __init__(self, run: RunConfig, graphdef: nnx.GraphDef, data: Dataset, teacher: GPT, *,
                 temperature: float = 2.0, alpha: float = 0.5,
                 optimizer: optax.GradientTransformation | None = None, mesh: Mesh | None = None):
        check_distill(temperature, alpha)
        if teacher.cfg.vocab_size != run.model.vocab_size:
            raise ValueError(f"the teacher's vocabulary ({teacher.cfg.vocab_size}) differs from the "
                             f"student's ({run.model.vocab_size}): distillation matches them token by token")
        if teacher.cfg.context_len < run.model.context_len:
            raise ValueError(f"the teacher reads {teacher.cfg.context_len} tokens, fewer than the "
                             f"student's context_len={run.model.context_len}")
        super().__init__(run, graphdef, data, optimizer=optimizer, mesh=mesh)
        self.temperature, self.alpha = float(temperature), float(alpha)
        self.teacher_graphdef, teacher_params = nnx.split(teacher, nnx.Param)
        self.teacher_params = self.place(jax.tree.map(jnp.asarray, teacher_params))

    # --8<-- [start:step]
    def loss_and_aux(self, params, x_BT, y_BT, dropout_key):
        """(what the gradient descends, (cross-entropy, tokens per expert of each MoE layer))."""
        if self.recipe.compute_dtype == "bfloat16":
            params = jax.tree.map(lambda p: p.astype(jnp.bfloat16), params)
        logits_BTV, aux = self.model(params)(x_BT, dropout_key=dropout_key,
                                               dropout_rate=self.recipe.dropout, with_aux=True)
        ce = cross_entropy(logits_BTV, y_BT)
        if self.alpha == 0:              # hard labels: the teacher is not even run
            objective = ce
        else:                            # the frozen teacher reads the same batch, in this step
            teacher_BTV = nnx.merge(self.teacher_graphdef, self.teacher_params)(x_BT)
            objective = distill_loss(logits_BTV, teacher_BTV, y_BT,
                                     temperature=self.temperature, alpha=self.alpha)
        return objective + self.recipe.aux_loss_coef * aux["aux_loss"], (ce, aux["load_LE"])
    # --8<-- [end:step]


def distill(run: RunConfig, data: Dataset, teacher: GPT, *, temperature: float = 2.0,
            alpha: float = 0.5, stop_after: int | None = None, eval_batches: int | None = None,
            progress: Callable[[str], None] | None = print) -> TrainResult:
    """Train the run's model against `teacher` (alpha = 0: on hard labels only) by the run's
    recipe, evaluating both splits every `eval_interval` steps (`eval_batches` batches each).

    `stop_after` ends the run early with the schedule unchanged (its first steps are the full
    run's). The history holds the per-step training cross-entropy (`loss`) and the evaluations.
    """
    check_distill(temperature, alpha)
    say = progress or (lambda _: None)
    end = min(stop_after or run.train.max_iters, run.train.max_iters)
    graphdef, state = init_state(run)
    trainer = DistillTrainer(run, graphdef, data, teacher, temperature=temperature, alpha=alpha)
    history: dict[str, Any] = {"step": [], "loss": [], "eval": []}
    step, every, t0 = 0, run.train.eval_interval, time.perf_counter()
    while step < end:
        n = min(run.train.steps_per_dispatch, every - step % every, end - step)
        state, metrics = trainer.run_steps(state, trainer.train_Z, n)
        history["loss"].extend(float(x) for x in jax.device_get(metrics["loss"]))
        step += n
        history["step"].extend(range(step - n + 1, step + 1))
        if step % every == 0 or step == end:
            history["eval"].append({"step": step, **trainer.evaluate(state, eval_batches)})
            say(f"step {step:>5}/{end} | train {history['eval'][-1]['train_loss']:.4f} | "
                f"val {history['eval'][-1]['val_loss']:.4f}")
    history["wall_seconds"] = time.perf_counter() - t0
    return TrainResult(trainer.model(state.params), state, history, trainer, step)
