"""The saved predictor's layout: ``manifest.json`` (the schema below) next to the model's native file.

Manifest keys: ``format`` (``"paretoml-predictor"``), ``version``, ``task``, ``classes``, ``family``,
``preprocessing`` (:meth:`Preprocessor.to_dict`), ``info``, ``image_shape`` and ``model`` (the entries
the family's ``save`` returned: at least ``file``, plus ``runtime`` for a compiled model). Writing is
atomic (a staging directory renamed into place); reading never unpickles anything.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from paretoml.exceptions import DataError

__all__ = ["MANIFEST", "json_scalar", "read_manifest", "unpacked", "write_atomically", "write_zip"]

MANIFEST = "manifest.json"
FORMAT = "paretoml-predictor"
VERSION = 1


def json_scalar(value: Any) -> Any:
    """A NumPy scalar as the Python scalar JSON can hold; anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def write_atomically(target: Path, fill: Callable[[Path], dict[str, Any]]) -> Path:
    """Write directory ``target``: ``fill(staging)`` writes the model files and returns the manifest,
    then the staging directory replaces ``target`` (an existing one is replaced whole)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        manifest = {"format": FORMAT, "version": VERSION, **fill(staging)}
        (staging / MANIFEST).write_text(json.dumps(manifest, separators=(",", ":"), default=json_scalar))
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            staging.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def write_zip(folder: Path, file: str | Path) -> dict[str, int]:
    """Zip the files of a saved predictor ``folder`` into ``file``; their bytes by file name."""
    files = sorted(p for p in folder.iterdir() if p.is_file())
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in files:
            zf.write(p, arcname=p.name)
    return {p.name: p.stat().st_size for p in files}


@contextmanager
def unpacked(source: Path) -> Iterator[Path]:
    """The predictor directory of ``source``: itself, or a zip archive's plain files extracted."""
    if not (source.is_file() and zipfile.is_zipfile(source)):
        yield source
        return
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(source) as zf:
        for member in zf.namelist():
            if Path(member).name != member or member.startswith("."):
                raise DataError(f"{source}: unexpected entry {member!r} in predictor archive.")
        zf.extractall(tmp)
        yield Path(tmp)


def read_manifest(directory: Path) -> dict[str, Any]:
    """The checked manifest of a predictor directory.

    Raises:
        DataError: When ``directory`` is not a paretoml predictor of this version, or its model entry
            names anything but a plain file.
    """
    manifest_file = directory / MANIFEST
    if not manifest_file.is_file():
        raise DataError(f"{directory} is not a saved paretoml predictor: {MANIFEST} is missing.")
    manifest: dict[str, Any] = json.loads(manifest_file.read_text())
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise DataError(
            f"{manifest_file}: not a paretoml predictor manifest of version {VERSION} "
            f"(format={manifest.get('format')!r}, version={manifest.get('version')!r})."
        )
    entry = manifest["model"]
    if Path(entry["file"]).name != entry["file"]:
        raise DataError(f"{manifest_file}: model file {entry['file']!r} must be a plain file name.")
    return manifest
