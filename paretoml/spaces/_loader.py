"""Search spaces declared as YAML data, turned into Optuna suggestions.

File format (see ``search_spaces/lightgbm.yaml``)::

    family: lightgbm
    params:
      num_leaves: {type: int, low: 4, high: 128, log: true}
      bagging_freq: {type: categorical, choices: [0, 1]}
      bagging_fraction: {type: float, low: 0.5, high: 1.0, when: {bagging_freq: 1}}
    fixed:
      early_stopping_rounds: {type: fixed, value: 30}

``when`` makes a parameter conditional on an earlier one (a value or a list of values).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import optuna
import yaml

from paretoml.exceptions import SearchSpaceError

__all__ = ["ParamSpec", "SearchSpace", "default_space_path", "load_space"]

_TYPES = ("int", "float", "categorical", "fixed")


@dataclass(frozen=True)
class ParamSpec:
    """One hyperparameter: its distribution and an optional condition."""

    name: str
    type: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()
    value: Any = None
    when: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def active(self, chosen: dict[str, Any]) -> bool:
        """Whether the condition holds for the values chosen so far."""
        return all(name in chosen and chosen[name] in allowed for name, allowed in self.when.items())


@dataclass(frozen=True)
class SearchSpace:
    """A family's hyperparameter space, loaded from YAML."""

    family: str
    params: tuple[ParamSpec, ...]
    fixed: dict[str, Any]
    source: str

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Sample the active parameters for ``trial`` (recorded as ``"<family>.<name>"``).

        Args:
            trial: The Optuna trial.

        Returns:
            The chosen values by parameter name, with the fixed values merged in.
        """
        chosen: dict[str, Any] = {}
        for p in self.params:
            if not p.active(chosen):
                continue
            key = f"{self.family}.{p.name}"
            if p.type == "int":
                chosen[p.name] = trial.suggest_int(
                    key, int(p.low or 0), int(p.high or 0), log=p.log, step=int(p.step or 1)
                )
            elif p.type == "float":
                chosen[p.name] = trial.suggest_float(key, float(p.low or 0), float(p.high or 0), log=p.log, step=p.step)
            elif p.type == "categorical":
                chosen[p.name] = trial.suggest_categorical(key, list(p.choices))
            else:
                chosen[p.name] = p.value
        return {**chosen, **self.fixed}


def default_space_path(family: str) -> Path:
    """Path of the search space shipped with paretoml for ``family``."""
    return Path(str(resources.files("paretoml") / "search_spaces" / f"{family}.yaml"))


def _fail(source: str, key: str, problem: str) -> SearchSpaceError:
    return SearchSpaceError(f"{source}: {key}: {problem}")


def _number(source: str, key: str, spec: dict[str, Any], name: str) -> float:
    if name not in spec:
        raise _fail(source, key, f"needs `{name}` for type {spec['type']!r}.")
    try:
        value = float(spec[name])
    except (TypeError, ValueError):
        raise _fail(source, f"{key}.{name}", f"must be a number; got {spec[name]!r}.") from None
    if not math.isfinite(value):
        raise _fail(source, f"{key}.{name}", f"must be finite; got {spec[name]!r}.")
    return value


def _parse_param(source: str, name: str, spec: Any, earlier: dict[str, ParamSpec]) -> ParamSpec:
    key = f"params.{name}"
    if not isinstance(spec, dict):
        raise _fail(source, key, f"must be a mapping like {{type: int, low: 1, high: 10}}; got {spec!r}.")
    kind = spec.get("type")
    if kind not in _TYPES:
        raise _fail(source, f"{key}.type", f"must be one of {_TYPES}; got {kind!r}.")
    unknown = set(spec) - {"type", "low", "high", "log", "step", "choices", "value", "when"}
    if unknown:
        raise _fail(source, key, f"unknown keys {sorted(unknown)!r}.")
    when_raw = spec.get("when") or {}
    if not isinstance(when_raw, dict):
        raise _fail(
            source,
            f"{key}.when",
            f"must map an earlier parameter to its value(s), e.g. `when: {{bagging_freq: 1}}`; got {when_raw!r}.",
        )
    when: dict[str, tuple[Any, ...]] = {}
    for other, allowed in when_raw.items():
        if other not in earlier:
            raise _fail(
                source,
                f"{key}.when",
                f"refers to {other!r}, which is not declared before {name!r}.",
            )
        when[other] = tuple(allowed) if isinstance(allowed, list) else (allowed,)
    if kind in ("int", "float"):
        low, high = _number(source, key, spec, "low"), _number(source, key, spec, "high")
        log = bool(spec.get("log", False))
        step = _number(source, key, spec, "step") if "step" in spec else None
        if low > high:
            raise _fail(source, key, f"`low` ({low:g}) must not exceed `high` ({high:g}).")
        if log and low <= 0:
            raise _fail(source, key, f"`log: true` needs `low` > 0; got {low:g}.")
        if log and step is not None:
            raise _fail(source, key, "`log` and `step` cannot be combined.")
        if kind == "int" and (low != int(low) or high != int(high)):
            raise _fail(source, key, f"int bounds must be whole numbers; got {low:g}..{high:g}.")
        if step is not None and (step <= 0 or (kind == "int" and step != int(step))):
            fix = (
                "must be a whole number >= 1 for type 'int'; use a step such as 1 or 2, or `type: float`"
                if kind == "int"
                else "must be positive; use a step > 0 or leave `step` out"
            )
            raise _fail(source, f"{key}.step", f"{fix} (got {step:g}).")
        return ParamSpec(name, kind, low, high, log, step, when=when)
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise _fail(source, f"{key}.choices", f"must be a non-empty list; got {choices!r}.")
        return ParamSpec(name, kind, choices=tuple(choices), when=when)
    if "value" not in spec:
        raise _fail(source, key, "type 'fixed' needs `value`.")
    return ParamSpec(name, kind, value=spec["value"], when=when)


def load_space(source: str | Path | dict[str, Any], *, family: str | None = None) -> SearchSpace:
    """Load and validate a search space.

    Args:
        source: A YAML file path, or an already-parsed mapping.
        family: The family the space must be for; checked against the file's ``family`` key.

    Returns:
        The search space.

    Raises:
        SearchSpaceError: When the file is missing or malformed; the message names file and key.
    """
    label = str(source) if not isinstance(source, dict) else "<search space dict>"
    if isinstance(source, dict):
        data: Any = source
    else:
        path = Path(source)
        if not path.is_file():
            raise SearchSpaceError(f"{label}: search-space file not found. Pass the path of a YAML file.")
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise SearchSpaceError(f"{label}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise _fail(label, "<top level>", "must be a mapping with `family` and `params`.")
    unknown = set(data) - {"family", "params", "fixed"}
    if unknown:
        raise _fail(
            label,
            "<top level>",
            f"unknown keys {sorted(unknown)!r}; allowed: family, params, fixed.",
        )
    declared = data.get("family", family)
    if not isinstance(declared, str):
        raise _fail(label, "family", f"must be a family name; got {declared!r}.")
    if family is not None and declared != family:
        raise _fail(label, "family", f"is {declared!r} but the space was given for {family!r}.")
    params_raw = data.get("params")
    if not isinstance(params_raw, dict) or not params_raw:
        raise _fail(label, "params", "must be a non-empty mapping of parameter name to spec.")
    params: dict[str, ParamSpec] = {}
    for name, spec in params_raw.items():
        params[str(name)] = _parse_param(label, str(name), spec, params)
    fixed: dict[str, Any] = {}
    for name, spec in (data.get("fixed") or {}).items():
        parsed = _parse_param(
            label,
            str(name),
            spec if isinstance(spec, dict) else {"type": "fixed", "value": spec},
            {},
        )
        if parsed.type != "fixed":
            raise _fail(label, f"fixed.{name}", "entries under `fixed` must have type 'fixed'.")
        fixed[str(name)] = parsed.value
    return SearchSpace(declared, tuple(params.values()), fixed, label)
