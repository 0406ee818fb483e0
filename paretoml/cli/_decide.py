"""Commands that turn a stored study into a decision: ``pick``, ``export``, ``report``, ``dashboard``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from paretoml._load_study import load_study
from paretoml.cli._common import (
    ArtifactsOpt,
    JsonOpt,
    PickOptions,
    StorageArg,
    StudyOpt,
    console,
    pick_json,
    print_json,
    reported_errors,
    with_pick_options,
)

__all__ = ["dashboard", "export", "pick", "report"]


@with_pick_options
def pick(
    storage: StorageArg,
    study: StudyOpt = None,
    artifacts: ArtifactsOpt = None,
    json: JsonOpt = False,
    *,
    choice: PickOptions,
) -> None:
    """Pick the one model to ship from a stored study's front, and say why (with --json: as JSON)."""
    with reported_errors():
        chosen = choice.pick(load_study(storage, study, artifacts=artifacts))
    if json:
        print_json(pick_json(chosen))
        return
    console.print(str(chosen))


@with_pick_options
def export(
    storage: StorageArg,
    out: Annotated[Path, typer.Argument(help="Directory to write the predictor to.")],
    study: StudyOpt = None,
    trial: Annotated[int | None, typer.Option(help="Export this trial instead of picking one.")] = None,
    artifacts: ArtifactsOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a previous paretoml predictor in OUT (other files stay).")
    ] = False,
    json: JsonOpt = False,
    onnx: Annotated[
        bool, typer.Option("--onnx", help="Also write OUT/model.onnx (tree models; the onnx extra).")
    ] = False,
    *,
    choice: PickOptions,
) -> None:
    """Write the picked (or a given) trial's Predictor with a model card (MODEL_CARD.md, model_card.json)."""
    from paretoml.report import model_card, write_model_card

    with reported_errors():
        result = load_study(storage, study, artifacts=artifacts)
        chosen = None
        if trial is None:
            chosen = choice.pick(result)
            trial = chosen.trial
        predictor = result.predictor(trial)
        folder = predictor.save(out, overwrite=force)
        card, card_md = write_model_card(model_card(result, trial, chosen), folder)
        onnx_path = predictor.export_onnx(folder / "model.onnx") if onnx else None
    if json:
        files = {"model_card_json": str(card), "model_card_md": str(card_md)}
        if onnx_path is not None:
            files["onnx"] = str(onnx_path)
        print_json({"trial": trial, "folder": str(folder), **files, "pick": pick_json(chosen) if chosen else None})
        return
    if onnx_path is not None:
        console.print(f"ONNX model written to {onnx_path}")
    console.print(f"exported trial {trial} to {folder} (load it with paretoml.load({str(folder)!r}))")
    if chosen is not None:
        console.print(str(chosen))


@with_pick_options
def report(
    storage: StorageArg,
    out: Annotated[Path, typer.Argument(help="Directory for index.html and PNGs.")],
    study: StudyOpt = None,
    artifacts: ArtifactsOpt = None,
    *,
    choice: PickOptions,
) -> None:
    """Write an HTML report: the front (2-D and 3-D), the pick and why, the ranking, a latency breakdown."""
    from paretoml.report import build_report

    with reported_errors():
        result = load_study(storage, study, artifacts=artifacts)
        page = build_report(result, out, pick=choice.pick(result))
    console.print(f"report written to {page}")


def dashboard(
    storage: StorageArg,
    study: StudyOpt = None,
    artifacts: ArtifactsOpt = None,
    host: Annotated[str, typer.Option(help="Address to bind; 127.0.0.1 keeps it on this machine.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on (1-65535).", min=1, max=65535)] = 8080,
) -> None:
    """Serve optuna-dashboard for a stored study (artifacts included), on 127.0.0.1 by default."""
    from optuna.artifacts import FileSystemArtifactStore

    from paretoml._imports import require

    with reported_errors():
        server = require("optuna_dashboard", "paretoml dashboard")
        result = load_study(storage, study, artifacts=artifacts)
    store = FileSystemArtifactStore(str(result.artifact_dir))
    console.print(f"optuna-dashboard for {result.study.study_name!r} on http://{host}:{port}/ (Ctrl-C to stop)")
    server.run_server(result.study._storage, host=host, port=port, artifact_store=store)
