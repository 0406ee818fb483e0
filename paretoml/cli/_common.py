"""What every command shares: the console, the one error handler, the study argument and the pick options."""

from __future__ import annotations

import functools
import inspect
import json
import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from paretoml._pick import PRESETS, Pick
from paretoml.exceptions import ConfigError, ParetoMLError

if TYPE_CHECKING:  # the serve command imports this module: it must not pull in the search (optuna)
    from paretoml._result import Result

__all__ = [
    "ArtifactsOpt",
    "JsonOpt",
    "PickOptions",
    "StorageArg",
    "StudyOpt",
    "console",
    "err_console",
    "parse_assignments",
    "pick_json",
    "print_json",
    "reported_errors",
    "with_pick_options",
]

console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)

StorageArg = Annotated[str, typer.Argument(help="A study database path (studies/x.db) or an Optuna storage URL.")]
StudyOpt = Annotated[str | None, typer.Option(help="The study name, when the storage holds several.")]
ArtifactsOpt = Annotated[
    Path | None,
    typer.Option(help="The study's artifacts folder, when it is neither where it was made nor next to the database."),
]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on standard output (nothing else).")]

F = TypeVar("F", bound=Callable[..., Any])


def _plain(value: Any) -> Any:
    """``value`` as strict JSON data: NumPy/pandas scalars as Python ones, NaN and infinities as null."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()  # NumPy scalars
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "tolist"):  # arrays, Series
        return _plain(value.tolist())
    return str(value)


def print_json(data: Any) -> None:
    """Write ``data`` as one strict JSON document (NaN as null) on standard output."""
    sys.stdout.write(json.dumps(_plain(data), indent=1, allow_nan=False) + "\n")
    sys.stdout.flush()


def pick_json(chosen: Pick) -> dict[str, Any]:
    """A pick as JSON data: the trial, its front row, the explanation and the numbers behind it."""
    details = {k: v for k, v in chosen.details.items() if not k.endswith("_text")}
    return {
        "trial": chosen.trial,
        "row": chosen.row.to_dict(),
        "explanation": chosen.explanation,
        "settings": chosen.details.get("settings_text"),
        "runner_up": chosen.details.get("runner_up_text"),
        "details": details,
    }


@contextmanager
def reported_errors() -> Iterator[None]:
    """Print a paretoml error in red on standard error and exit with status 2 (anything else is a bug)."""
    try:
        yield
    except ParetoMLError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from exc


def parse_assignments(items: list[str] | None, option: str, example: str) -> dict[str, float]:
    """Repeated ``NAME=NUMBER`` CLI values (``--limit``, ``--constraint``) as ``{name: number}``.

    Raises:
        ConfigError: For an item that is not NAME=NUMBER, naming ``option`` and an ``example``.
    """
    out: dict[str, float] = {}
    for item in items or []:
        name, sep, number = item.partition("=")
        try:
            out[name.strip()] = float(number)
        except ValueError:
            sep = ""
        if not sep:
            raise ConfigError(f"`{option}` must be NAME=NUMBER, e.g. {example}; got {item!r}.") from None
    return out


@dataclass(frozen=True)
class PickOptions:
    """The command-line form of :meth:`paretoml.Result.pick`'s arguments (one block, shared by commands)."""

    preset: Annotated[str | None, typer.Option(help=f"A business preset: {', '.join(sorted(PRESETS))}.")] = None
    weights: Annotated[
        str | None, typer.Option(help="Weights of the study's objectives in order, e.g. '0.6,0.3,0.1'.")
    ] = None
    method: Annotated[str | None, typer.Option(help="weighted_sum (default), tchebycheff, knee or topsis.")] = None
    max_p95_ms: Annotated[
        float | None, typer.Option("--max-p95-ms", help="Hard limit: p95 single-row latency in ms.")
    ] = None
    max_size_kb: Annotated[float | None, typer.Option("--max-size-kb", help="Hard limit: saved size in KB.")] = None
    min_metric: Annotated[float | None, typer.Option("--min-metric", help="Hard limit: lowest acceptable metric.")] = (
        None
    )
    limit: Annotated[
        list[str] | None,
        typer.Option("--limit", help="Any hard limit KEY=VALUE, e.g. max_memory_kb=512 (repeat for more)."),
    ] = None
    on: Annotated[str, typer.Option(help="Score the metric on 'test' (default) or 'valid'.")] = "test"

    def pick(self, result: Result) -> Pick:
        """Pick from ``result`` with these options.

        Raises:
            ConfigError: When ``--weights`` is not three numbers (and whatever ``Result.pick`` raises).
        """
        parsed = None
        if self.weights:
            try:
                parsed = [float(v) for v in self.weights.split(",")]
            except ValueError as exc:
                raise ConfigError(
                    f"`--weights` must be numbers, one per objective, like '0.6,0.3,0.1'; got {self.weights!r}."
                ) from exc
        limits = {
            key: value
            for key, value in (
                ("max_latency_p95_ms", self.max_p95_ms),
                ("max_size_kb", self.max_size_kb),
                ("min_metric", self.min_metric),
            )
            if value is not None
        }
        limits.update(parse_assignments(self.limit, "--limit", "max_memory_kb=512"))
        return result.pick(weights=parsed, limits=limits or None, method=self.method, preset=self.preset, on=self.on)


def _option_parameters() -> list[inspect.Parameter]:
    resolved = inspect.get_annotations(PickOptions, eval_str=True)
    return [
        inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=resolved[f.name])
        for f in fields(PickOptions)
    ]


def with_pick_options(command: F) -> F:
    """Give ``command`` the pick options; it receives them as one ``choice: PickOptions`` argument.

    Typer reads the wrapper's signature: the command's own parameters, then the shared block.
    """
    own = inspect.signature(command, eval_str=True)
    shared = _option_parameters()
    names = [p.name for p in shared]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        choice = PickOptions(**{name: kwargs.pop(name) for name in names})
        return command(choice=choice, **kwargs)

    params = [p for p in own.parameters.values() if p.name != "choice"]
    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params] + shared
    wrapper.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper  # type: ignore[return-value]
