"""What every config shares: frozen, validated on creation, derived defaults, `replace`, JSON.

A config is a frozen dataclass (hashable, safe to close over inside `jax.jit`). Fields left
`None` are derived from others in a fixed order (`DERIVE`), and `replace` re-derives a field
when one it comes from changes (`DERIVED_FROM`). Every error reads
`<Class>.<field>=<value> is invalid: expected <what>`, so a typo fails at construction instead
of as a shape error deep inside a compiled function.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, ClassVar, TypeVar

C = TypeVar("C", bound="FrozenConfig")

MAX_SIZE = 2**31 - 1
"""The largest size any integer field may take: shapes and positions are int32 on devices."""


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_pos_int(value: Any) -> bool:
    return is_int(value) and 0 < value <= MAX_SIZE


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) < 1e300


class FrozenConfig:
    """Mixin of the shared machinery; subclasses are `@dataclass(frozen=True)`."""

    DERIVE: ClassVar[dict[str, Any]] = {}          # field -> f(config), in derivation order
    DERIVED_FROM: ClassVar[dict[str, tuple[str, ...]]] = {}
    TUPLES: ClassVar[tuple[str, ...]] = ()         # fields JSON gives back as lists

    def __post_init__(self) -> None:
        for name in self.TUPLES:
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        self.check_before_deriving()
        for name, derive in self.DERIVE.items():   # in order: later ones use earlier ones
            if getattr(self, name) is None:
                try:
                    object.__setattr__(self, name, derive(self))
                except (TypeError, ZeroDivisionError):  # a bad source: validation names it
                    pass
        self.validate()

    def check_before_deriving(self) -> None:
        """Checks that derivation needs (a size that divides another, a bound on a count)."""

    def validate(self) -> None:
        raise NotImplementedError

    # ----------------------------------------------------------------------------- errors
    def bad(self, name: str, value: Any, expected: str) -> None:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:40] + f"... ({len(repr(value))} characters)"
        raise ValueError(f"{type(self).__name__}.{name}={shown} is invalid: expected {expected}")

    def check(self, names, ok, expected: str) -> None:
        for name in names:
            if not ok(getattr(self, name)):
                self.bad(name, getattr(self, name), expected)

    def check_choices(self, choices: dict[str, tuple]) -> None:
        for name, allowed in choices.items():
            self.check((name,), lambda v: v in allowed, "one of " + ", ".join(map(repr, allowed)))

    # ----------------------------------------------------------------------------- values
    def replace(self: C, **changes: Any) -> C:
        """A copy with some fields changed (derived fields are re-derived unless given)."""
        base = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        unknown = set(changes) - set(base)
        if unknown:
            raise ValueError(f"unknown {type(self).__name__} field(s): {', '.join(sorted(unknown))}")
        changed = set(changes)
        while True:
            stale = {name for name, sources in self.DERIVED_FROM.items()
                     if name not in changes and changed.intersection(sources)} - changed
            if not stale:
                break
            changed |= stale
            for name in stale:
                base[name] = None
        base.update(changes)
        return type(self)(**base)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls: type[C], values: dict[str, Any]) -> C:
        """Build from a plain dict; unknown keys are an error naming them."""
        if not isinstance(values, dict):
            raise ValueError(f"{cls.__name__} must be a JSON object, got {type(values).__name__}")
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"unknown {cls.__name__} field(s): {', '.join(unknown)}")
        try:
            return cls(**values)
        except TypeError as err:   # a wrongly typed value tripped arithmetic in derivation
            raise ValueError(f"invalid {cls.__name__}: {err}") from None


def fields_of(cls) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))
