"""CLI commands that turn a stored study into a decision: pick, export, report, dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paretoml._picker import PRESETS, Pick
from paretoml._result import Result, load_study
from paretoml.exceptions import ConfigError, ParetoMLError

__all__ = ["register"]

StorageArg = Annotated[str, typer.Argument(help="A study database path (studies/x.db) or an Optuna storage URL.")]
StudyOpt = Annotated[str | None, typer.Option(help="The study name, when the storage holds several.")]
PresetOpt = Annotated[str | None, typer.Option(help=f"A business preset: {', '.join(sorted(PRESETS))}.")]
WeightsOpt = Annotated[str | None, typer.Option(help="Weights of metric,latency,size, e.g. '0.6,0.3,0.1'.")]
MethodOpt = Annotated[str | None, typer.Option(help="weighted_sum (default), tchebycheff, knee or topsis.")]
P95Opt = Annotated[float | None, typer.Option("--max-p95-ms", help="Hard limit: p95 single-row latency in ms.")]
SizeOpt = Annotated[float | None, typer.Option("--max-size-kb", help="Hard limit: saved size in KB.")]
MinMetricOpt = Annotated[float | None, typer.Option("--min-metric", help="Hard limit: lowest acceptable metric.")]
OnOpt = Annotated[str, typer.Option(help="Score the metric on 'test' (default) or 'valid'.")]
TrialOpt = Annotated[int | None, typer.Option(help="Export this trial instead of picking one.")]
HostOpt = Annotated[str, typer.Option(help="Address to bind; 127.0.0.1 keeps it on this machine.")]
PortOpt = Annotated[int, typer.Option(help="Port to serve on.")]


def _pick(result: Result, preset: str | None, weights: str | None, method: str | None,
          max_p95_ms: float | None, max_size_kb: float | None, min_metric: float | None, on: str) -> Pick:  # fmt: skip
    parsed = None
    if weights:
        try:
            parsed = [float(v) for v in weights.split(",")]
        except ValueError as exc:
            raise ConfigError(f"`--weights` must be three numbers like '0.6,0.3,0.1'; got {weights!r}.") from exc
    limits = {k: v for k, v in (("max_latency_p95_ms", max_p95_ms), ("max_size_kb", max_size_kb),
                                ("min_metric", min_metric)) if v is not None}  # fmt: skip
    return result.pick(weights=parsed, limits=limits or None, method=method, preset=preset, on=on)


def register(app: typer.Typer, console: object) -> None:
    """Add the commands to ``app``; ``console`` is the rich console they print to."""
    from rich.console import Console

    assert isinstance(console, Console)

    def fail(exc: ParetoMLError) -> typer.Exit:
        console.print(f"[red]error:[/red] {exc}")
        return typer.Exit(code=2)

    @app.command()
    def pick(storage: StorageArg, study: StudyOpt = None, preset: PresetOpt = None, weights: WeightsOpt = None,
             method: MethodOpt = None, max_p95_ms: P95Opt = None, max_size_kb: SizeOpt = None,
             min_metric: MinMetricOpt = None, on: OnOpt = "test") -> None:  # fmt: skip
        """Pick the one model to ship from a stored study's front, and say why."""
        try:
            chosen = _pick(load_study(storage, study), preset, weights, method, max_p95_ms, max_size_kb, min_metric, on)
        except ParetoMLError as exc:
            raise fail(exc) from exc
        console.print(chosen.explanation)

    @app.command()
    def export(storage: StorageArg, out: Annotated[Path, typer.Argument(help="Directory to write the predictor to.")],
               study: StudyOpt = None, trial: TrialOpt = None,
               preset: PresetOpt = None, weights: WeightsOpt = None, method: MethodOpt = None,
               max_p95_ms: P95Opt = None, max_size_kb: SizeOpt = None, min_metric: MinMetricOpt = None,
               on: OnOpt = "test") -> None:  # fmt: skip
        """Write the picked (or a given) trial's Predictor with a model card (MODEL_CARD.md, model_card.json)."""
        from paretoml.report import model_card, write_model_card

        try:
            result = load_study(storage, study)
            chosen = None
            if trial is None:
                chosen = _pick(result, preset, weights, method, max_p95_ms, max_size_kb, min_metric, on)
                trial = chosen.trial
            folder = result.predictor(trial).save(out)
            write_model_card(model_card(result, trial, chosen), folder)
        except ParetoMLError as exc:
            raise fail(exc) from exc
        console.print(f"exported trial {trial} to {folder} (load it with paretoml.load({str(folder)!r}))")
        if chosen is not None:
            console.print(chosen.explanation)

    @app.command()
    def report(storage: StorageArg, out: Annotated[Path, typer.Argument(help="Directory for index.html and PNGs.")],
               study: StudyOpt = None, preset: PresetOpt = None, weights: WeightsOpt = None, method: MethodOpt = None,
               max_p95_ms: P95Opt = None, max_size_kb: SizeOpt = None, min_metric: MinMetricOpt = None,
               on: OnOpt = "test") -> None:  # fmt: skip
        """Write an HTML report: the front (2-D and 3-D), the pick and why, the ranking, a latency breakdown."""
        from paretoml.report import build_report

        try:
            result = load_study(storage, study)
            chosen = _pick(result, preset, weights, method, max_p95_ms, max_size_kb, min_metric, on)
            page = build_report(result, out, pick=chosen)
        except ParetoMLError as exc:
            raise fail(exc) from exc
        console.print(f"report written to {page}")

    @app.command()
    def dashboard(storage: StorageArg, study: StudyOpt = None, host: HostOpt = "127.0.0.1",
                  port: PortOpt = 8080) -> None:  # fmt: skip
        """Serve optuna-dashboard for a stored study (artifacts included), on 127.0.0.1 by default."""
        from optuna.artifacts import FileSystemArtifactStore

        from paretoml._imports import require

        try:
            server = require("optuna_dashboard", "paretoml dashboard")
            result = load_study(storage, study)
        except ParetoMLError as exc:
            raise fail(exc) from exc
        store = FileSystemArtifactStore(str(result.artifact_dir))
        console.print(f"optuna-dashboard for {result.study.study_name!r} on http://{host}:{port}/ (Ctrl-C to stop)")
        server.run_server(result.study._storage, host=host, port=port, artifact_store=store)
