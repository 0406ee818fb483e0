"""The settings of a study, declared once: ``optimize``, its worker processes and study files all use them.

Each field of :class:`Settings` carries its :class:`Param`: the accepted forms as constraints
(:mod:`paretoml._constraints`), the fix to suggest, the README text, and its study-file form. From this one
declaration come the argument checks of ``optimize`` (before any work starts), the checks of a study file,
the README's ``optimize`` arguments table and its study-file example (a test keeps the README equal to
:func:`arguments_table` and :func:`study_file_example`, and the signature of ``optimize`` equal to the
fields).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage

from paretoml._budget import Budget, parse_budget
from paretoml._constraints import (
    Choice,
    Constraint,
    Fields,
    Funcs,
    Instance,
    MapOf,
    NoneOK,
    Number,
    Registered,
    SeqOf,
    check,
)
from paretoml.exceptions import BudgetError, ConfigError
from paretoml.features import RANKING_METHODS, FeatureSelection
from paretoml.measure import Hardware
from paretoml.objectives import DEFAULT_OBJECTIVES, OBJECTIVES, resolve_constraints, resolve_objectives

__all__ = ["DATA", "PYTHON_ONLY", "Param", "Settings", "arguments_table", "schema", "study_file_example"]

TASKS = ("binary", "multiclass", "regression")
SAMPLERS = ("tpe", "nsga2", "random")
_PATH = Instance((str, Path), "a path (str)")
_SPACE = Instance((str, Path, dict), "a YAML path or dict")
_POSITIVE_INT = Number(integer=True, low=1)
_OBJECTIVE = Registered(OBJECTIVES, "an objective name")


@dataclass(frozen=True)
class Param:
    """One setting.

    Attributes:
        rules: Accepted forms; a value is valid when one of them is satisfied. Empty: anything (data).
        fix: One sentence telling the user what to pass instead.
        doc: The README's "meaning" cell.
        default_doc: The README's "default" cell.
        file: How a study file writes it: ``"key"``, ``"split.valid_size"`` (a nested key), or None when
            it has no file form (see :data:`PYTHON_ONLY`).
        file_example: The value in the README's study-file example (YAML text).
        file_comment: The comment after it.
        error: The error type raised for a bad value.
    """

    name: str
    rules: tuple[Constraint, ...]
    fix: str
    doc: str
    default_doc: str
    file: str | None
    file_example: str = "null"
    file_comment: str = ""
    error: Callable[[str], Exception] = ConfigError

    def check(self, value: Any) -> None:
        """Raise a typed error naming this setting, the rule, the value and the fix."""
        if self.rules:
            check(self.name, value, self.rules, self.fix, self.error)


def _param(rules: tuple[Constraint, ...], fix: str, doc: str, default_doc: str, **file: Any) -> dict[str, Any]:
    """A :class:`Settings` field's metadata: its :class:`Param` but the name (the field's)."""
    return {"param": {"rules": rules, "fix": fix, "doc": doc, "default_doc": default_doc, **file}}


PYTHON_ONLY = {"callbacks": "Python functions have no YAML form (the CLI passes its own progress callback)."}
"""``optimize`` arguments without a study-file key, and why."""

DATA = Param(
    name="data",
    rules=(),
    fix="",
    doc="a DataFrame with `target=`, or `(X, y)`; X may be an image array `(N, H, W)` / `(N, C, H, W)`",
    default_doc="required",
    file="data",
    file_example="sklearn:breast_cancer",
    file_comment="breast_cancer|digits|wine|diabetes|iris, or a CSV/Parquet path (relative to this file)",
)
"""The one positional argument of ``optimize``: the rows (a study file names where to read them)."""


@dataclass(frozen=True)
class Settings:
    """Every ``optimize`` argument but ``data``, validated when built.

    Raises:
        ConfigError: For a value of the wrong type, range or choice (the message names the argument,
            the rule, the value and the fix).
        BudgetError: For a budget that is not positive or cannot be parsed.

    Example:
        >>> Settings(valid_size=0.25).valid_size
        0.25
    """

    budget: Budget | float | str = field(default=60, metadata=_param(
        (Instance((Budget, int, float, str), "seconds, a duration string or a paretoml.Budget"),),
        "Pass e.g. 60, '90s', '5m' or '50 trials'.",
        "seconds (`60`), a duration (`\"90s\"`, `\"5m\"`, `\"1h30m\"`), a trial count (`\"50 trials\"`), or "
        "`paretoml.Budget(seconds=, trials=)`. Returns within the budget plus at most one trial, the final "
        "re-scoring and the refits of the front (see below)", "`60`", file="budget", file_example="2m",
        file_comment='seconds, "90s", "5m", "1h", or "50 trials"', error=BudgetError,
    ))  # fmt: skip
    target: str | None = field(default=None, metadata=_param(
        (NoneOK(), Instance((str,), "a column name (str)")), "Pass the target column's name, e.g. 'label'.",
        "the target column when `data` is a DataFrame", "–", file="target", file_example="target",
        file_comment='target column (bundled sets call it "target")',
    ))  # fmt: skip
    task: str | None = field(default=None, metadata=_param(
        (NoneOK(), Choice(TASKS)), "Pass 'binary', 'multiclass' or 'regression', or leave it out to infer it.",
        "`binary`, `multiclass`, `regression`",
        "inferred: non-numeric, or integers with ≤ 30 values → classification",
        file="task", file_comment="binary | multiclass | regression; inferred when null",
    ))  # fmt: skip
    metric: str | None = field(default=None, metadata=_param(
        (NoneOK(), Instance((str,), "a scikit-learn scorer name (str)")),
        "Pass a name such as 'roc_auc', 'accuracy' or 'r2' (see sklearn.metrics.get_scorer_names()).",
        "any scikit-learn scorer name (`roc_auc`, `f1_macro`, `log_loss`, `neg_root_mean_squared_error`, ...) "
        "that fits the task", "ROC AUC / accuracy / R²", file="metric", file_example="roc_auc",
        file_comment="any scikit-learn scorer name; default by task",
    ))  # fmt: skip
    objectives: list[str] | tuple[str, ...] | None = field(default=None, metadata=_param(
        (NoneOK(), SeqOf(_OBJECTIVE, "a list of objective names", min_len=2)),
        "Pass e.g. ['metric', 'latency_p95_ms', 'memory_kb'].",
        "what the study optimises: `\"metric\"` and any of `latency_p50_ms`, `latency_p95_ms`, `batch_latency_ms`, "
        "`throughput_rows_per_s`, `size_kb`, `memory_kb`, `n_features` (see Objectives); every trial records all",
        f"`{list(DEFAULT_OBJECTIVES)}`".replace("'", '"'), file="objectives",
        file_example="[metric, latency_p50_ms, size_kb]", file_comment="the metric plus any measured objectives",
    ))  # fmt: skip
    constraints: dict[str, float] | None = field(default=None, metadata=_param(
        (NoneOK(), MapOf(Number(integer=False), "a dict {objective name: bound}", key=_OBJECTIVE)),
        "Pass e.g. {'latency_p95_ms': 1.0, 'size_kb': 256}.",
        "bounds that steer the search: an upper bound for objectives to minimise, a lower one for the metric and "
        "`throughput_rows_per_s`; the sampler favours trials that meet them and the front offers only those "
        "(see Constraints)", "none", file="constraints", file_example="{}",
        file_comment="e.g. {latency_p95_ms: 1.0, size_kb: 256}",
    ))  # fmt: skip
    families: list[str] | tuple[str, ...] | None = field(default=None, metadata=_param(
        (NoneOK(), SeqOf(Instance((str,), "str"), "a non-empty list of family names")),
        "Pass a list such as ['lightgbm'] or ['lightgbm', 'xgboost'].", "model families to search",
        '`["lightgbm", "xgboost"]`, plus `"cnn"` for image data when torch is installed',
        file="families", file_example="[lightgbm, xgboost]", file_comment="default: these, plus cnn for image data",
    ))  # fmt: skip
    search_spaces: dict[str, Any] | None = field(default=None, metadata=_param(
        (NoneOK(), MapOf(_SPACE, "a dict {family: YAML path or dict}")),
        "Pass e.g. {'lightgbm': 'my_lightgbm.yaml'}.", "`{family: path-to-yaml}` replacing the shipped spaces",
        "shipped `search_spaces/*.yaml`", file="search_spaces", file_example="{}",
        file_comment="family: YAML path (relative to this file)",
    ))  # fmt: skip
    storage: str | Path | BaseStorage | None = field(default=None, metadata=_param(
        (NoneOK(), Instance((str, Path), "a SQLite/journal file path or a storage URL"),
               Instance((BaseStorage,), "an Optuna storage")),
        "Pass e.g. 'studies/x.db' (SQLite), 'studies/x.log' (journal) or 'postgresql+psycopg://user@host/db'.",
        "Optuna storage URL or object, or a SQLite (`*.db`) or journal (`*.log`) file path; an existing study "
        "of the same name continues", "in memory", file="storage",
        file_comment="Optuna URL or path; default <this file's folder>/<study_name>.db (.log with workers > 1)",
    ))  # fmt: skip
    study_name: str = field(default="paretoml", metadata=_param(
        (Instance((str,), "a string"),), "Pass a name such as 'credit'.", "the study's name",
        '`"paretoml"`', file="study_name", file_example="breast_cancer", file_comment="default: the file's stem",
    ))  # fmt: skip
    artifacts: str | Path | None = field(default=None, metadata=_param(
        (NoneOK(), _PATH), "Pass a folder path, e.g. 'studies/x_artifacts'.",
        "directory for every trial's predictor (an Optuna artifact store)",
        "next to the SQLite/journal file; a temporary directory in memory; required for server databases",
        file="artifacts", file_comment="default <db stem>_artifacts next to the SQLite/journal file",
    ))  # fmt: skip
    sampler: str | optuna.samplers.BaseSampler | None = field(default=None, metadata=_param(
        (NoneOK(), Choice(SAMPLERS), Instance((optuna.samplers.BaseSampler,), "an Optuna sampler")),
        "Pass 'tpe', 'nsga2' or 'random'.",
        '`"tpe"` (Optuna\'s multi-objective default), `"nsga2"`, `"random"`, or an Optuna sampler', "seeded TPE",
        file="sampler", file_example="tpe", file_comment="tpe | nsga2 | random",
    ))  # fmt: skip
    seed: int = field(default=0, metadata=_param(
        (Number(integer=True, low=0, high=2**32 - 1),), "Pass an integer such as 0.",
        "split, sampler and model seed", "`0`", file="seed", file_example="0",
    ))  # fmt: skip
    hardware: Hardware | dict[str, Any] | int | None = field(default=None, metadata=_param(
        (NoneOK(), _POSITIVE_INT, Instance((Hardware,), "a paretoml Hardware"), Fields({
            "n_threads": ((_POSITIVE_INT,), "Pass a thread count such as 2."),
            "device": ((Choice(("cpu",)),), "No model family trains or serves on a GPU yet: leave `device` out."),
            "serving_threads": ((_POSITIVE_INT,), "Pass the serving thread count, such as 1."),
            "batch_size": ((_POSITIVE_INT,), "Pass the rows per serving request, such as 1 or 50."),
        })), "Pass a thread count such as 2, or {'n_threads': 2, 'serving_threads': 1, 'batch_size': 1}.",
        'training thread count, or `{"n_threads": 2, "device": "cpu", "serving_threads": 1, "batch_size": 1}`: '
        "the serving profile (`serving_threads`, rows per request `batch_size`) is what latency is timed under",
        "the CPUs this process may use to train; serving 1 thread, batch 1",
        file="hardware", file_example="{n_threads: 2, serving_threads: 1, batch_size: 1}",
        file_comment="default: this machine's CPUs",
    ))  # fmt: skip
    features: FeatureSelection | str | bool | list[int] | dict[str, Any] | None = field(default=None, metadata=_param(
        (NoneOK(), Instance((bool,), "a bool"), Choice((*RANKING_METHODS, "off")),
               SeqOf(_POSITIVE_INT, "a list of candidate sizes (positive ints)"),
               Instance((FeatureSelection,), "a FeatureSelection"), Fields({
                   "method": ((Choice((*RANKING_METHODS, "off")),), "Pass 'shap', 'gain' or 'off'."),
                   "sizes": ((NoneOK(), SeqOf(_POSITIVE_INT, "a list of positive ints")),
                             "Pass a list such as [5, 10, 20]."),
                   "min_features": ((_POSITIVE_INT,), "Pass a count such as 1."),
                   "sample_rows": ((Number(integer=True, low=10),), "Pass a row count such as 2000."),
               })), "Pass 'shap', 'gain', 'off', a list such as [5, 10, 20], or {'method': 'gain', 'sizes': [5, 10]}.",
        'feature subsets as a searched dimension: `"shap"`, `"gain"`, `"off"`/`False`, a list of candidate sizes, '
        'or `{"method", "sizes", "min_features", "sample_rows"}` (see below)', '`"shap"`',
        file="features", file_example="shap", file_comment="shap | gain | off | [sizes] | {method, sizes, "
        "min_features, sample_rows}",
    ))  # fmt: skip
    valid_size: float = field(default=0.2, metadata=_param(
        (Number(integer=False, low=0, high=1, closed="neither"),), "Pass a number such as 0.2.",
        "fraction of rows for validation (stratified for classification); ignored with `validation=`", "`0.2`",
        file="split.valid_size", file_example="0.2",
    ))  # fmt: skip
    test_size: float = field(default=0.2, metadata=_param(
        (Number(integer=False, low=0, high=1, closed="neither"),), "Pass a number such as 0.2.",
        "fraction of rows held out to report the front on; ignored with `test=`", "`0.2`",
        file="split.test_size", file_example="0.2",
    ))  # fmt: skip
    validation: Any = field(default=None, metadata=_param(
        (), "", "a validation set (same form as `data`) instead of splitting one off", "–",
        file="validation", file_comment="a CSV/Parquet path (relative to this file) instead of a split",
    ))  # fmt: skip
    test: Any = field(default=None, metadata=_param(
        (), "", "a test set (same form as `data`) instead of splitting one off", "–",
        file="test", file_comment="a CSV/Parquet path (relative to this file) instead of a split",
    ))  # fmt: skip
    callbacks: list[Any] | tuple[Any, ...] | None = field(default=None, metadata=_param(
        (NoneOK(), Funcs("a list of callables f(study, trial)")),
        "Pass a list of functions taking (study, trial).", "Optuna callbacks `f(study, trial)`", "–", file=None,
    ))  # fmt: skip
    trial_timeout: float | None = field(default=600.0, metadata=_param(
        (NoneOK(), Number(integer=False, low=0, closed="neither")),
        "Pass a number of seconds such as 600, or None for no limit.",
        "seconds one trial may take; past it the trial is FAIL", "`600`", file="trial_timeout",
        file_example="600", file_comment="null: no limit",
    ))  # fmt: skip
    workers: int = field(default=1, metadata=_param(
        (_POSITIVE_INT,), "Pass a process count such as 2.",
        "worker processes (more than one needs a journal file or PostgreSQL storage)", "`1`", file="workers",
        file_example="1", file_comment="> 1: the default storage becomes <study_name>.log (a journal file)",
    ))  # fmt: skip
    compression: bool | str | Path | dict[str, Any] | list[Any] | None = field(default=None, metadata=_param(
        (NoneOK(), Instance((bool,), "a bool"), _SPACE, SeqOf(_SPACE, "a list of YAML paths or dicts")),
        "Pass True, False, or a compression space's YAML path or dict (or a list of them).",
        "compression searched per trial: `True`, `False`, or YAML paths/dicts (one or a list) replacing the space "
        "they declare (see below)",
        "`search_spaces/compression.yaml` (trees), `search_spaces/cnn_compression.yaml` (CNNs)",
        file="compression", file_example="true", file_comment="true | false | YAML path(s) (relative to this file)",
    ))  # fmt: skip
    image_shape: tuple[int, ...] | list[int] | None = field(default=None, metadata=_param(
        (SeqOf(_POSITIVE_INT, "2 or 3 positive integers, (height, width) or (channels, height, width)",
               min_len=2, max_len=3), NoneOK()),
        "Pass e.g. (28, 28) or (3, 32, 32).",
        "`(H, W)` or `(C, H, W)` when the columns of `data` are image pixels (C-order); inferred from image arrays",
        "–", file="image_shape", file_comment="[H, W] or [C, H, W] when the columns are image pixels (adds CNNs)",
    ))  # fmt: skip
    cv_folds: int | str = field(default="auto", metadata=_param(
        (Choice(("auto",)), Number(integer=True, low=1, high=20)),
        "Pass 'auto', 1 (holdout on the validation split) or a fold count from 3 to 20.",
        "how the metric objective is validated: `\"auto\"` (4-fold cross-validation over the training and "
        "validation rows below 4,000 of them, else the validation split), `1` (the validation split) or a fold "
        "count (3–20); fold 0 is the validation split, and its model is timed, sized and stored",
        "`\"auto\"`", file="cv_folds", file_example="auto", file_comment="auto | 1 (holdout) | 3..20 folds",
    ))  # fmt: skip
    warm_start: bool = field(default=True, metadata=_param(
        (Instance((bool,), "a bool"),), "Pass True or False.",
        "a new study's first trials are each family's defaults and one well-established setting (all "
        "features, no compression); a resumed study does not repeat them", "`True`", file="warm_start",
        file_example="true", file_comment="known-strong configurations first",
    ))  # fmt: skip
    accurate_share: float = field(default=0.25, metadata=_param(
        (Number(integer=False, low=0.0, high=1.0),), "Pass a fraction from 0 to 1, e.g. 0.25.",
        "the share of trials, evenly spread, that keep all features and compress nothing while the sampler "
        "chooses the family, its hyperparameters and the runtime: they search the accurate end of the front "
        "(0: none; a sampler object is used as given)", "`0.25`", file="accurate_share", file_example="0.25",
        file_comment="0..1: trials with all features and no lossy compression",
    ))  # fmt: skip
    progress: bool = field(default=True, metadata=_param(
        (Instance((bool,), "a bool"),), "Pass True or False.",
        "a live progress line on standard error (setup stage, trials, time left, best metric); Optuna's per-trial "
        "INFO lines are quieted either way", "`True`", file="progress", file_example="true",
        file_comment="the CLI always shows it",
    ))  # fmt: skip

    def __post_init__(self) -> None:
        for param in schema()[1:]:
            param.check(getattr(self, param.name))
        resolve_objectives(self.objectives)
        resolve_constraints(self.constraints)
        object.__setattr__(self, "_plan", parse_budget(self.budget))

    @property
    def plan(self) -> Budget:
        """The parsed budget."""
        plan: Budget = getattr(self, "_plan")  # noqa: B009 - set in __post_init__ of a frozen dataclass
        return plan


def schema() -> tuple[Param, ...]:
    """Every ``optimize`` argument's :class:`Param`, in signature order (``data`` first)."""
    return _SCHEMA


_SCHEMA = (DATA, *(Param(name=f.name, **f.metadata["param"]) for f in fields(Settings)))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def arguments_table() -> str:
    """The README's ``optimize`` arguments table (Markdown), generated from the schema."""
    rows = ["| argument | meaning | default |", "|---|---|---|"]
    rows += [f"| `{p.name}` | {_cell(p.doc)} | {_cell(p.default_doc)} |" for p in schema()]
    return "\n".join(rows)


def study_file_example() -> str:
    """The README's study-file example (YAML): every key, generated from the schema."""
    lines: list[tuple[str, str, str]] = []
    nested: dict[str, list[str]] = {}
    for p in schema():
        if p.file is None:
            continue
        key, _, sub = p.file.partition(".")
        if sub:
            if key not in nested:
                nested[key] = []
                lines.append((key, "", ""))
            nested[key].append(f"{sub}: {p.file_example}")
            continue
        lines.append((key, p.file_example, p.file_comment))
    out = []
    for key, value, comment in lines:
        if key in nested:
            value = "{" + ", ".join(nested[key]) + "}"
        text = f"{key}: {value}"
        out.append(f"{text:<32} # {comment}".rstrip(" #") if comment else text)
    return "\n".join(out)
