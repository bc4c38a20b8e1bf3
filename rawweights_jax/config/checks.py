"""The allowed values of the Config's choice fields, and the checks that name a bad value.

Every error reads `Config.<field>=<value> is invalid: expected <what>`, so a typo fails at
construction instead of as a shape error deep inside a compiled function.
"""

from __future__ import annotations

from typing import Any

ATTENTION_BACKENDS = ("auto", "naive", "xla", "blockwise", "pallas")
POSITION_KINDS = ("learned", "sinusoidal", "rope", "none")
ROPE_SCALINGS = ("none", "linear", "llama3", "yarn")
NORM_KINDS = ("layernorm", "rmsnorm")
NORM_PLACEMENTS = ("pre", "post", "sandwich")
MLP_KINDS = ("gelu", "swiglu", "geglu")
LAYER_KINDS = ("global", "local")
ROUTER_SCORES = ("softmax", "sigmoid")
MOE_DISPATCHES = ("sorted", "dense")
DTYPES = ("float32", "bfloat16")


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_pos_int(value: Any) -> bool:
    return is_int(value) and value > 0


def check(cfg, name: str, ok, expected: str) -> None:
    value = getattr(cfg, name)
    if not ok(value):
        bad(name, value, expected)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def bad(name: str, value: Any, expected: str) -> None:
    raise ValueError(f"Config.{name}={value!r} is invalid: expected {expected}")
