"""Every objective, declared once: its name, direction, unit, scale in the picker, and how it is measured.

A study optimises a few of them (``optimize(objectives=[...])``; default :data:`DEFAULT_OBJECTIVES`);
every trial records all of them as user attrs, so a constraint, a pick limit or the report can use any.
Study creation (directions, metric names), the front (column order, noise, log scale), the picker
(weights, limits, losses), the CLI and the report read this registry.

Adding an objective is one :func:`register_objective` call with its measurement function::

    register_objective(ObjectiveSpec(
        "n_trees", kind="size", direction="minimize", unit="trees", log_scale=True,
        measure=lambda out: float(out.size.stats.get("n_trees", 1)), doc="trees in the model",
    ))

``kind`` groups objectives for the picker's weights and presets: a weight given for ``"latency"`` is
shared by the study's latency objectives, one for ``"size"`` by its size objectives (see
:func:`paretoml._pick.pick_front`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from paretoml.exceptions import ConfigError

if TYPE_CHECKING:
    from paretoml.trial import TrialOutcome

__all__ = [
    "DEFAULT_OBJECTIVES",
    "KINDS",
    "OBJECTIVES",
    "ObjectiveSpec",
    "get_objective",
    "objective_directions",
    "register_objective",
    "resolve_constraints",
    "resolve_objectives",
    "violation",
    "violations",
]

KINDS = ("metric", "latency", "size")
"""Groups of objectives that presets and kind-named weights address."""


@dataclass(frozen=True)
class ObjectiveSpec:
    """One objective.

    Attributes:
        name: Its name in ``objectives=``, constraints, pick limits (``max_<name>``) and weights.
        kind: ``"metric"``, ``"latency"`` or ``"size"`` (presets weigh kinds).
        direction: ``"minimize"``, ``"maximize"``, or ``"metric"`` (the study metric's own direction).
        unit: Its unit in words (``"ms"``, ``"KB"``, ``"rows/s"``).
        log_scale: Whether the front's noise and the picker compare it as a ratio (positive values only).
        measure: The measurement: a trial's :class:`~paretoml.trial.TrialOutcome` to the value.
        doc: One line for the README and help texts.
        column: The trial attr and front column holding it (default: ``name``).
        noise: A trial's attrs and value to how far two values must differ to differ beyond noise
            (None: exact, like bytes); the front's ε-dominance uses it.
    """

    name: str
    kind: str
    direction: str
    unit: str
    log_scale: bool
    measure: Callable[[TrialOutcome], float | None]
    doc: str
    column: str = ""
    noise: Callable[[Mapping[str, Any], float], float] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"objective {self.name!r}: kind must be one of {KINDS}; got {self.kind!r}.")
        if self.direction not in ("minimize", "maximize", "metric"):
            raise ValueError(f"objective {self.name!r}: direction must be minimize, maximize or metric.")
        if not self.column:
            object.__setattr__(self, "column", self.name)

    def maximize(self, metric_direction: str = "maximize") -> bool:
        """Whether a greater value is better (the metric's direction for ``"metric"``)."""
        direction = metric_direction if self.direction == "metric" else self.direction
        return direction == "maximize"


def _memory(out: TrialOutcome) -> float | None:
    return None if out.memory_bytes is None else out.memory_bytes / 1024.0


def _p50_noise(attrs: Mapping[str, Any], value: float) -> float:
    from paretoml.measure import latency_noise_ms

    return latency_noise_ms(value, attrs.get("latency_p95_ms"), attrs.get("latency_repeats"))


def _timing_noise(attrs: Mapping[str, Any], value: float) -> float:
    from paretoml.measure import latency_noise_ms

    return latency_noise_ms(value, None, None)  # the run-to-run drift floor (5%)


def _page_noise(attrs: Mapping[str, Any], value: float) -> float:
    return 8.0  # KB: two 4 KiB pages, the resolution of a resident-set difference


OBJECTIVES: dict[str, ObjectiveSpec] = {}
"""The registry: every objective by name, in registration order."""


def register_objective(spec: ObjectiveSpec) -> ObjectiveSpec:
    """Add ``spec`` to :data:`OBJECTIVES` (replacing one of the same name); returns it."""
    OBJECTIVES[spec.name] = spec
    return spec


for _spec in (
    ObjectiveSpec("metric", "metric", "metric", "", False, lambda out: out.metric,
                  "the validation metric (`metric=`), mean over the folds", column="metric_valid"),
    ObjectiveSpec("latency_p50_ms", "latency", "minimize", "ms", True, lambda out: out.latency.p50_ms,
                  "median single-row latency through the Predictor, under the serving profile", noise=_p50_noise),
    ObjectiveSpec("latency_p95_ms", "latency", "minimize", "ms", True, lambda out: out.latency.p95_ms,
                  "95th-percentile single-row latency, under the serving profile", noise=_timing_noise),
    ObjectiveSpec("batch_latency_ms", "latency", "minimize", "ms", True, lambda out: out.latency.batch_p50_ms,
                  "median latency of one request of the serving profile's `batch_size` rows", noise=_timing_noise),
    ObjectiveSpec("throughput_rows_per_s", "latency", "maximize", "rows/s", True,
                  lambda out: out.latency.batch_rows_per_s, "rows per second on a 1,000-row batch",
                  noise=_timing_noise),
    ObjectiveSpec("size_kb", "size", "minimize", "KB", True, lambda out: out.size.size_kb,
                  "bytes the saved Predictor needs on disk (the compiled library for a compiled runtime)"),
    ObjectiveSpec("memory_kb", "size", "minimize", "KB", True, _memory,
                  "resident memory a loaded Predictor adds to a serving process, after serving a row and a batch",
                  noise=_page_noise),
    ObjectiveSpec("n_features", "size", "minimize", "features", True,
                  lambda out: float(out.predictor.n_features_in_), "input columns the Predictor reads"),
):  # fmt: skip
    register_objective(_spec)

DEFAULT_OBJECTIVES = ("metric", "latency_p50_ms", "size_kb")
"""The objectives of a study that names none."""


def get_objective(name: str) -> ObjectiveSpec:
    """The registered objective ``name``.

    Raises:
        ConfigError: Naming the known objectives.
    """
    if name not in OBJECTIVES:
        raise ConfigError(f"unknown objective {name!r}; choose from {list(OBJECTIVES)}.")
    return OBJECTIVES[name]


def resolve_objectives(names: Iterable[str] | None) -> tuple[ObjectiveSpec, ...]:
    """The study's objectives, the metric first: ``names`` (default :data:`DEFAULT_OBJECTIVES`) checked.

    Raises:
        ConfigError: For an unknown or repeated name, or a list without ``"metric"`` or with only it.
    """
    chosen = list(DEFAULT_OBJECTIVES if names is None else names)
    unknown = [n for n in chosen if n not in OBJECTIVES]
    if unknown:
        raise ConfigError(
            f"`objectives` names unknown objectives {unknown}; choose from {list(OBJECTIVES)}, e.g. "
            "['metric', 'latency_p95_ms', 'memory_kb']."
        )
    if len(set(chosen)) != len(chosen) or "metric" not in chosen or len(chosen) < 2:
        raise ConfigError(
            f"`objectives` must list 'metric' and at least one other objective, each once; got {chosen}. "
            "Pass e.g. ['metric', 'latency_p95_ms', 'memory_kb']."
        )
    for name in chosen:
        _check_measurable(name, "the objective")
    return tuple(OBJECTIVES[n] for n in ["metric", *(n for n in chosen if n != "metric")])


def objective_directions(specs: Sequence[ObjectiveSpec], metric_direction: str) -> list[str]:
    """Optuna directions of ``specs`` (``"maximize"``/``"minimize"``)."""
    return ["maximize" if s.maximize(metric_direction) else "minimize" for s in specs]


def _check_measurable(name: str, what: str) -> None:
    if name == "memory_kb":
        from paretoml.measure import memory_supported

        if not memory_supported():
            raise ConfigError(
                f"{what} 'memory_kb' needs the resident set of a process, which this platform does not expose "
                "(/proc/self/statm, Linux); use 'size_kb' instead."
            )


def resolve_constraints(spec: dict[str, float] | None) -> dict[str, float]:
    """The study's constraints ``{objective name: bound}``, checked.

    An objective to minimise is bounded above, one to maximise (the metric, ``throughput_rows_per_s``)
    below; bounds of log-scale objectives must be positive.

    Raises:
        ConfigError: For an unknown name or an impossible bound.
    """
    out: dict[str, float] = {}
    for name, bound in (spec or {}).items():
        obj = get_objective(name)
        _check_measurable(name, "the constraint")
        if obj.log_scale and not bound > 0:
            raise ConfigError(
                f"`constraints.{name}` must be a positive number ({obj.unit}); got {bound!r}. Pass e.g. "
                f"{{'{name}': 1.0}}."
            )
        out[name] = float(bound)
    return out


def violations(constraints: Mapping[str, float], attrs: Mapping[str, Any], metric_direction: str) -> list[float]:
    """Each constraint's :func:`violation` by a trial's measured attrs, in constraint order."""
    return [violation(n, b, attrs.get(get_objective(n).column), metric_direction) for n, b in constraints.items()]


def violation(name: str, bound: float, value: float | None, metric_direction: str) -> float:
    """How far ``value`` misses the constraint ``bound`` (Optuna's convention: > 0 violated, <= 0 met).

    Relative for log-scale objectives (``0.4``: 40% over a latency bound), absolute for the metric; a
    missing value violates by 1e9.
    """
    if value is None or value != value:
        return 1e9
    maximize = get_objective(name).maximize(metric_direction)
    gap = (bound - value) if maximize else (value - bound)
    return gap / abs(bound) if get_objective(name).log_scale else gap
