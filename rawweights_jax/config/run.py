"""A run: the model config and the training config it is trained with, as one value.

`preset(name)` returns one. `replace` sends each changed field to the config that owns it, so
`preset("shakespeare-char-cpu").replace(max_iters=300, n_layers=2)` changes the recipe and
the model alike; a name neither knows is an error naming it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rawweights_jax.config.base import fields_of
from rawweights_jax.config.model import ModelConfig
from rawweights_jax.config.train import TrainConfig


@dataclass(frozen=True)
class RunConfig:
    """What to train (`model`) and how (`train`)."""

    model: ModelConfig
    train: TrainConfig

    def __post_init__(self) -> None:
        if not isinstance(self.model, ModelConfig) or not isinstance(self.train, TrainConfig):
            raise ValueError("RunConfig needs a ModelConfig and a TrainConfig, got "
                             f"{type(self.model).__name__} and {type(self.train).__name__}")

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with fields of either config changed, each routed to the config owning it."""
        unknown = set(changes) - set(fields_of(ModelConfig)) - set(fields_of(TrainConfig))
        if unknown:
            raise ValueError(f"unknown ModelConfig or TrainConfig field(s): {', '.join(sorted(unknown))}")
        model = {k: v for k, v in changes.items() if k in fields_of(ModelConfig)}
        train = {k: v for k, v in changes.items() if k in fields_of(TrainConfig)}
        return RunConfig(self.model.replace(**model) if model else self.model,
                         self.train.replace(**train) if train else self.train)

    @property
    def tokens_per_iter(self) -> int:
        """Tokens consumed by one optimizer step: batch_size * grad_accum * context_len."""
        return self.train.batch_size * self.train.grad_accum * self.model.context_len

    def to_json(self) -> str:
        return json.dumps({"model": self.model.to_dict(), "train": self.train.to_dict()}, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        if not isinstance(values, dict) or set(values) != {"model", "train"}:
            raise ValueError("a run config is a JSON object with exactly 'model' and 'train'")
        return cls(ModelConfig.from_dict(values["model"]), TrainConfig.from_dict(values["train"]))
