"""Commands that run a study or show one: ``run``, ``worker``, ``front`` (with their tables and progress)."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import optuna
import typer
from rich.table import Table

from paretoml._api import optimize
from paretoml._budget import parse_budget
from paretoml._load_study import load_study
from paretoml._pick_text import fmt_kb, fmt_metric, fmt_us, fmt_value
from paretoml._result import Result
from paretoml._studyfile import StudyFile, load_data, read_study_file
from paretoml.cli._common import (
    ArtifactsOpt,
    JsonOpt,
    StorageArg,
    StudyOpt,
    console,
    parse_assignments,
    print_json,
    reported_errors,
)
from paretoml.study._storage import open_existing_storage

__all__ = ["front", "front_json", "front_summary", "front_table", "ranking_table", "run", "worker"]


def front_table(result: Result, title: str) -> Table:
    """A rich table of the trustworthy Pareto front of ``result`` (µs, KB), with a column for each of the
    study's objectives beyond p50, p95 and size."""
    table = Table(title=title)
    shown = ("metric", "latency_p50_ms", "latency_p95_ms", "size_kb", "n_features")
    extra = [o for o in result.objectives if o.name not in shown]
    for col in (
        "trial",
        "family",
        f"{result.metric} valid ± se",
        f"{result.metric} test",
        "p50",
        "p95",
        "size",
        *(o.name for o in extra),
        "features",
        "trees / params",
        "compression",
    ):
        table.add_column(col, justify="left" if col == "family" else "right")
    for _, row in result.front.iterrows():
        table.add_row(
            str(row.trial), str(row.family), f"{fmt_metric(row.metric_valid)} ±{fmt_metric(row.metric_se)}",
            fmt_metric(row.metric_test), fmt_us(row.latency_p50_ms), fmt_us(row.latency_p95_ms),
            fmt_kb(row.size_kb), *(fmt_value(o, row[o.column]) for o in extra), str(row.n_features),
            _size_count(row.n_trees, row.n_params), str(row.compression),
        )  # fmt: skip
    return table


def front_summary(result: Result) -> str:
    """Both front sizes, and what the trustworthy front leaves out (or, when no trial meets the
    constraints, the closest trials and by how much they miss)."""
    if result.constraints and result.front.empty and result.completed_trials():
        return result.infeasible_summary()
    raw = result.front_raw
    baseline = result.baseline
    against = (
        "an unknown baseline" if baseline is None else f"the constant baseline ({result.metric} {fmt_metric(baseline)})"
    )
    return (
        f"{len(result.front)} trustworthy of {len(raw)} non-dominated trials: {int(raw.degenerate.sum())} no better "
        f"than {against} beyond 2 standard errors, {int((~raw.degenerate & ~raw.trustworthy).sum())} beaten "
        "beyond noise by another member (metric within its standard error, p50 within its timing noise). "
        "All: result.front_raw."
        + (
            f" Constraints: {result.constraints} (the front holds only trials that meet them)."
            if result.constraints
            else ""
        )
    )


def _size_count(n_trees: Any, n_params: Any) -> str:
    """Trees of a tree model, or parameters of a CNN."""
    if n_params is not None and n_params == n_params:  # not None, not NaN
        return f"{int(n_params):,} params"
    return str(n_trees)


def ranking_table(result: Result, top: int = 10) -> Table | None:
    """A rich table of the study's most important features, or None when it has no ranking."""
    ranking = result.feature_ranking
    if ranking.empty:
        return None
    method = ranking.method.iloc[0]
    table = Table(
        title=f"Top {min(top, len(ranking))} of {len(ranking)} features (mean |SHAP|)"
        if method == "shap"
        else f"Top {min(top, len(ranking))} of {len(ranking)} features (split gain)"
    )
    for col in ("rank", "feature", "importance"):
        table.add_column(col, justify="left" if col == "feature" else "right")
    for row in ranking.head(top).itertuples(index=False):
        table.add_row(str(row.rank), str(row.feature), f"{row.importance:.4g}")
    return table


def _print_result(result: Result) -> None:
    title = f"Pareto front of {result.study.study_name!r} ({len(result.front)} of {len(result.study.trials)} trials)"
    console.print(front_table(result, title))
    console.print(front_summary(result))
    if result.spent is not None:  # where this run's time went (None for a stored study)
        console.print(f"Time: {result.spent.describe()}", highlight=False)
    ranking = ranking_table(result)
    if ranking is not None:
        console.print(ranking)


ConstraintOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--constraint",
        help="A constraint NAME=BOUND steering the search, e.g. latency_p95_ms=1.0 (repeat for more); adds to the "
        "file's `constraints`.",
    ),
]
ObjectivesOpt = Annotated[
    str | None, typer.Option(help="Override the file's objectives, e.g. 'metric,latency_p95_ms,memory_kb'.")
]


def _study_settings(
    study_file: Path,
    storage: str | None,
    study_name: str | None,
    constraints: list[str] | None = None,
    objectives: str | None = None,
) -> tuple[StudyFile, Any, dict[str, Any]]:
    """The study file, its budget, and ``optimize`` arguments with the command line's overrides."""
    spec, file_budget = read_study_file(study_file)
    kwargs = spec.optimize_kwargs()
    if storage:
        kwargs["storage"] = storage
    if study_name:
        kwargs["study_name"] = study_name
    if constraints:
        given = parse_assignments(constraints, "--constraint", "latency_p95_ms=1.0")
        kwargs["constraints"] = {**(kwargs.get("constraints") or {}), **given}
    if objectives:
        kwargs["objectives"] = [name.strip() for name in objectives.split(",")]
    return spec, file_budget, kwargs


def run(
    study_file: Annotated[Path, typer.Argument(help="A study YAML file, e.g. studies/breast_cancer.yaml.")],
    budget: Annotated[str | None, typer.Option(help="Override the file's budget: '90s', '5m', '50 trials'.")] = None,
    storage: Annotated[str | None, typer.Option(help="Override the storage URL or SQLite path.")] = None,
    study_name: Annotated[str | None, typer.Option(help="Override the study name.")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: the file's); >1 needs a journal or PostgreSQL.")
    ] = None,
    constraint: ConstraintOpt = None,
    objectives: ObjectivesOpt = None,
) -> None:
    """Run (or continue) the study a YAML file describes, then print its Pareto front."""
    with reported_errors():
        spec, file_budget, kwargs = _study_settings(study_file, storage, study_name, constraint, objectives)
        kwargs["workers"] = workers or kwargs.get("workers", 1)
        if kwargs["workers"] > 1 and not storage and not spec.options.get("storage_given"):
            kwargs["storage"] = str(Path(kwargs["storage"]).with_suffix(".log"))  # a journal file: many writers
        plan = parse_budget(budget if budget is not None else file_budget)
        data = load_data(spec.data)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        console.print(f"[bold]paretoml[/bold] study {kwargs['study_name']!r}: {spec.data}, budget {plan.describe()}")
        resume = ["paretoml", "run", str(study_file), *_given(budget=budget, storage=storage, study_name=study_name,
                                                              objectives=objectives)]  # fmt: skip
        resume += [arg for item in constraint or [] for arg in ("--constraint", item)]
        with _interruptible(kwargs, resume + _given(workers=workers)):
            result = optimize(data, plan, **kwargs)  # shows the setup stages, then the live progress line
    _print_result(result)
    console.print(f"storage: {kwargs['storage']}   artifacts: {result.artifact_dir}")


def worker(
    study_file: Annotated[Path, typer.Argument(help="The study YAML file (its data, target and settings).")],
    storage: Annotated[str | None, typer.Option(help="The shared storage URL (PostgreSQL, or a journal file).")] = None,
    budget: Annotated[str | None, typer.Option(help="This worker's budget: '90s', '5m', '50 trials'.")] = None,
    study_name: Annotated[str | None, typer.Option(help="Override the study name.")] = None,
    constraint: ConstraintOpt = None,
    objectives: ObjectivesOpt = None,
) -> None:
    """Join a study as one more worker (from any process or machine that reaches the storage)."""
    with reported_errors():
        spec, file_budget, kwargs = _study_settings(study_file, storage, study_name, constraint, objectives)
        kwargs["workers"] = 1  # this process is one worker, whatever the file's `workers`
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        resume = ["paretoml", "worker", str(study_file), *_given(storage=storage, budget=budget, study_name=study_name)]
        with _interruptible(kwargs, resume):
            result = optimize(load_data(spec.data), budget if budget is not None else file_budget, **kwargs)
    done = len(result.completed_trials())
    console.print(
        f"worker done: study {result.study.study_name!r} has {done} completed of {len(result.study.trials)} trials"
    )


def _given(**options: Any) -> list[str]:
    """The command-line options that were given, as arguments (for the resume command)."""
    return [arg for key, v in options.items() if v is not None for arg in (f"--{key.replace('_', '-')}", str(v))]


@contextmanager
def _interruptible(kwargs: dict[str, Any], resume: list[str]) -> Iterator[None]:
    """On Ctrl-C: one line (what was kept, the command that continues) and exit status 130, no traceback.

    ``optimize`` has already recorded the interrupted trial as FAIL with the reason.
    """
    try:
        yield
    except KeyboardInterrupt:
        where, name = kwargs.get("storage"), kwargs["study_name"]
        try:
            study = optuna.load_study(study_name=name, storage=open_existing_storage(str(where)))
            done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.get_trials(deepcopy=False))
            kept = f"{done} completed trials are kept in {where} (study {name!r})"
        except Exception:  # interrupted before the study existed (or an in-memory study): nothing to keep
            kept = "no trial was kept"
        console.print(
            f"interrupted: {kept}; resume with: {shlex.join(resume)}", soft_wrap=True, markup=False, highlight=False
        )
        raise typer.Exit(code=130) from None


def front_json(result: Result) -> dict[str, Any]:
    """Both fronts as JSON data (latency in ms, size in KB, as stored), the baseline and the feature ranking."""
    return {
        "study": result.study.study_name,
        "metric": result.metric,
        "maximize": result.study.directions[0] == optuna.study.StudyDirection.MAXIMIZE,
        "baseline": result.baseline,
        "trials": len(result.study.trials),
        "completed_trials": len(result.completed_trials()),
        "front": result.front.to_dict("records"),
        "front_raw": result.front_raw.to_dict("records"),
        "feature_ranking": result.feature_ranking.to_dict("records"),
    }


def front(storage: StorageArg, study: StudyOpt = None, artifacts: ArtifactsOpt = None, json: JsonOpt = False) -> None:
    """Print the Pareto front of a stored study (with --json: one JSON document)."""
    with reported_errors():
        result = load_study(storage, study, artifacts=artifacts)
    if json:
        print_json(front_json(result))
        return
    _print_result(result)
