"""The open-weight zoo: published configs shipped in rawweights_jax/analysis/configs/, with their sources and
their publishers' parameter counts (the analysis tests check ours against them)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rawweights_jax.config import ModelConfig
from rawweights_jax.families.hf_config import config_from_hf

ZOO = Path(__file__).parent / "configs"
@dataclass(frozen=True)
class ZooModel:
    """A published model: its config.json values, its publisher's parameter count, sources."""

    key: str
    name: str
    hf: dict[str, Any]
    published_params: float
    published_active_params: float | None
    sources: dict[str, str]
    notes: str
    comparable_params: float | None = None
    """The publisher's figure restricted to what the config describes (Gemma 3: text only)."""
    precision: float | None = None
    """How precisely the publisher states the total, where it is rounded hard (Kimi K2: '1T')."""

    @property
    def config(self) -> ModelConfig:
        return config_from_hf(self.hf)


def zoo_names() -> list[str]:
    return sorted(p.stem for p in ZOO.glob("*.json"))


def zoo_model(key: str) -> ZooModel:
    path = ZOO / f"{key}.json"
    if not path.exists():
        raise ValueError(f"unknown model {key!r}: shipped ones are {', '.join(zoo_names())}")
    d = json.loads(path.read_text())
    return ZooModel(key, d["name"], d["config"], d["published_params"],
                    d.get("published_active_params"),
                    {"config": d["config_source"], "params": d["params_source"]}, d.get("notes", ""),
                    d.get("comparable_params"), d.get("published_params_precision"))
