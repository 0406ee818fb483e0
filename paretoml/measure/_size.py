"""Size of a served model: the bytes its saved Predictor needs on disk, plus the model's size facts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from paretoml.serving import Predictor

__all__ = ["Size", "measure_size"]

_MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Size:
    """What a saved Predictor weighs.

    Attributes:
        size_bytes: Bytes the Predictor needs to serve: the saved files, or the manifest plus the
            compiled library when a compiled runtime replaces the native model.
        saved_bytes: Bytes of every saved file (manifest and native model).
        runtime_bytes: Bytes of the compiled library, or None for a native runtime.
        files: Bytes of each saved file, by name.
        stats: The model's own size facts (``n_trees``, ``n_leaves``, ``n_params``...).
    """

    size_bytes: int
    saved_bytes: int
    runtime_bytes: int | None
    files: dict[str, int] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def size_kb(self) -> float:
        """:attr:`size_bytes` in KiB (the size objective)."""
        return self.size_bytes / 1024.0


def measure_size(predictor: Predictor, archive: str | Path) -> Size:
    """Save ``predictor`` as a zip archive at ``archive`` and measure what it needs to serve.

    Args:
        predictor: The served model.
        archive: The zip file to write (the form stored as an Optuna artifact).

    Returns:
        The size, with the model's size facts.
    """
    files = predictor.save_zip(archive)
    stats: dict[str, Any] = dict(predictor.model.stats())
    runtime_bytes = stats.pop("runtime_bytes", None)
    saved = sum(files.values())
    # the compiled library replaces the native model among the bytes needed to serve
    size = saved if runtime_bytes is None else files[_MANIFEST] + int(runtime_bytes)
    return Size(size, saved, None if runtime_bytes is None else int(runtime_bytes), files, stats)
