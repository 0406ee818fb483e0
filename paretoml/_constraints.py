"""Constraints as data: what a setting accepts, checked in one place, explained in one message format.

In the spirit of scikit-learn's ``sklearn/utils/_param_validation.py``: each setting declares a list of
constraints; a value is valid when one of them is satisfied; otherwise the error names the setting, the
rule (the constraints, in words), the value (with its type) and the fix::

    `valid_size` must be a float in (0, 1); got '0.2' (a str). Pass a number such as 0.2.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

from paretoml.exceptions import ConfigError

__all__ = [
    "Choice",
    "Constraint",
    "Fields",
    "Funcs",
    "Instance",
    "MapOf",
    "NoneOK",
    "Number",
    "Registered",
    "SeqOf",
    "check",
    "describe_value",
]


class Constraint(ABC):
    """One rule a value may satisfy; ``str(constraint)`` says it in words (``"a float in (0, 1)"``)."""

    @abstractmethod
    def ok(self, value: Any) -> bool:
        """Whether ``value`` satisfies the rule."""

    @abstractmethod
    def __str__(self) -> str:
        """The rule in words, to follow "must be"."""

    def check_parts(self, name: str, value: Any) -> None:  # noqa: B027 - a no-op hook
        """Check the parts of a satisfied composite value (dict fields), naming ``name.part``."""


class NoneOK(Constraint):
    """``None`` is accepted (the setting's default behaviour)."""

    def ok(self, value: Any) -> bool:
        return value is None

    def __str__(self) -> str:
        return "None"


@dataclass(frozen=True)
class Instance(Constraint):
    """An instance of one of ``types`` (bools are not numbers)."""

    types: tuple[type, ...]
    words: str

    def ok(self, value: Any) -> bool:
        if isinstance(value, bool) and bool not in self.types:
            return False
        return isinstance(value, self.types)

    def __str__(self) -> str:
        return self.words


@dataclass(frozen=True)
class Number(Constraint):
    """An int (``integer=True``) or a finite real number in an interval.

    Attributes:
        low, high: The bounds (None: unbounded).
        closed: Which bounds belong to the interval: ``"both"``, ``"left"``, ``"right"`` or ``"neither"``.
    """

    integer: bool
    low: float | None = None
    high: float | None = None
    closed: str = "both"

    def ok(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, Integral if self.integer else Real):
            return False
        number = float(value)
        if not math.isfinite(number):
            return False
        above = self.low is None or number > self.low or (number == self.low and self.closed in ("both", "left"))
        below = self.high is None or number < self.high or (number == self.high and self.closed in ("both", "right"))
        return above and below

    def __str__(self) -> str:
        kind = "an int" if self.integer else "a float"
        low, high = _num(self.low), _num(self.high)
        if self.low is not None and self.high is not None:
            left = "[" if self.closed in ("both", "left") else "("
            right = "]" if self.closed in ("both", "right") else ")"
            return f"{kind} in {left}{low}, {high}{right}"
        if self.low is not None:
            return f"{kind} {'>=' if self.closed in ('both', 'left') else '>'} {low}"
        if self.high is not None:
            return f"{kind} {'<=' if self.closed in ('both', 'right') else '<'} {high}"
        return kind


@dataclass(frozen=True)
class Choice(Constraint):
    """One of a fixed set of strings."""

    values: tuple[str, ...]

    def ok(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.values

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class SeqOf(Constraint):
    """A list (or tuple) whose items each satisfy ``item``; a string is not a list of names."""

    item: Constraint
    words: str
    min_len: int = 1
    max_len: int | None = None

    def ok(self, value: Any) -> bool:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            return False
        if len(value) < self.min_len or (self.max_len is not None and len(value) > self.max_len):
            return False
        return all(self.item.ok(v) for v in value)

    def __str__(self) -> str:
        return self.words


@dataclass(frozen=True)
class Registered(Constraint):
    """A name in a registry (read when checked, so that names registered later count)."""

    registry: Mapping[str, Any]
    words: str

    def ok(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.registry

    def __str__(self) -> str:
        return f"{self.words} (one of {', '.join(repr(k) for k in self.registry)})"


@dataclass(frozen=True)
class MapOf(Constraint):
    """A dict from strings (each satisfying ``key``, when given) to values that satisfy ``value``."""

    value: Constraint
    words: str
    key: Constraint | None = None

    def ok(self, value: Any) -> bool:
        return isinstance(value, Mapping) and all(
            isinstance(k, str) and (self.key is None or self.key.ok(k)) and self.value.ok(v) for k, v in value.items()
        )

    def __str__(self) -> str:
        return self.words


@dataclass(frozen=True)
class Fields(Constraint):
    """A dict with only the keys of ``fields``, each checked by its own constraints and fix."""

    fields: Mapping[str, tuple[tuple[Constraint, ...], str]]

    def ok(self, value: Any) -> bool:
        return isinstance(value, Mapping) and set(value) <= set(self.fields)

    def __str__(self) -> str:
        return "a dict with keys " + ", ".join(self.fields)

    def check_parts(self, name: str, value: Any) -> None:
        for key, (rules, fix) in self.fields.items():
            if key in value:
                check(f"{name}.{key}", value[key], rules, fix)


@dataclass(frozen=True)
class Funcs(Constraint):
    """A list of callables (e.g. Optuna callbacks)."""

    words: str

    def ok(self, value: Any) -> bool:
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple)):
            return False
        return all(callable(f) for f in value)

    def __str__(self) -> str:
        return self.words


def _num(x: float | None) -> str:
    if x is None:
        return ""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def describe_value(value: Any) -> str:
    """``'0.2' (a str)``: the value and its type, cut short when long."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    kind = type(value).__name__
    article = "an" if kind[:1].lower() in "aeiou" else "a"
    return f"{text} ({article} {kind})"


def check(
    name: str, value: Any, rules: Sequence[Constraint], fix: str, error: Callable[[str], Exception] = ConfigError
) -> None:
    """Raise ``error`` (a :class:`ConfigError` by default) unless ``value`` satisfies one of ``rules``.

    Args:
        name: The setting, as the user writes it (``"valid_size"``, ``"hardware.n_threads"``).
        value: The value given.
        rules: The accepted forms; the first one satisfied is then asked to check its parts.
        fix: What to pass instead, one sentence.
        error: The exception type to raise.

    Raises:
        ConfigError: ``"`name` must be <rules>; got <value> (a <type>). <fix>"``.
    """
    for rule in rules:
        if rule.ok(value):
            rule.check_parts(name, value)
            return
    words = " or ".join(str(r) for r in rules)
    raise error(f"`{name}` must be {words}; got {describe_value(value)}. {fix}")
