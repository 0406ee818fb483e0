"""The saved predictor's layout: ``manifest.json`` (the schema below) next to the model's native file.

Manifest keys: ``format`` (``"paretoml-predictor"``), ``version``, ``task``, ``classes``, ``family``,
``preprocessing`` (:meth:`Preprocessor.to_dict`), ``info``, ``image_shape``, ``model`` (the entries
the family's ``save`` returned: at least ``file``, plus ``runtime`` for a compiled model) and ``files``
(the sha256 and byte count of every model file, recorded at save time). Reading checks every field's
type and value and raises one :class:`~paretoml.exceptions.ModelFileError` naming the field; it never
unpickles anything.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from paretoml.exceptions import ConfigError, DataError, ModelFileError
from paretoml.families import get_family

__all__ = ["FORMAT", "MANIFEST", "MAX_PIXELS", "VERSION", "file_digest", "json_scalar", "read_manifest", "verify_file"]

MANIFEST = "manifest.json"
FORMAT = "paretoml-predictor"
VERSION = 1
#: The largest image (channels x height x width) a manifest may declare: 4096 x 4096 in one channel.
MAX_PIXELS = 1 << 24
_MAX_MANIFEST_BYTES = 256 << 20
_TASKS = ("binary", "multiclass", "regression")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FIX = "Re-export the model with paretoml (`Predictor.save` or `paretoml export`) from its study."


def json_scalar(value: Any) -> Any:
    """A NumPy scalar as the Python scalar JSON can hold; anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def file_digest(data: bytes) -> dict[str, Any]:
    """The ``files`` entry of one model file: its sha256 and its size in bytes."""
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _bad(manifest_file: Path, field: str, rule: str, value: Any) -> ModelFileError:
    shown = repr(value)
    shown = shown if len(shown) < 80 else shown[:77] + "..."
    return ModelFileError(f"{manifest_file}: manifest field `{field}` {rule}; got {shown}. {_FIX}")


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) and not (isinstance(value, float) and not np.isfinite(value))


def _check_fields(manifest: Any, where: Path) -> None:
    from paretoml.serving._runtimes import RUNTIMES

    if not isinstance(manifest, dict):
        raise _bad(where, "(top level)", "must be a JSON object", type(manifest).__name__)
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise ModelFileError(
            f"{where}: not a paretoml predictor manifest of version {VERSION} "
            f"(format={manifest.get('format')!r}, version={manifest.get('version')!r}). {_FIX}"
        )
    task, classes = manifest.get("task"), manifest.get("classes")
    if task not in _TASKS:
        raise _bad(where, "task", f"must be one of {list(_TASKS)}", task)
    if not isinstance(classes, list) or not all(_is_scalar(c) for c in classes):
        raise _bad(where, "classes", "must be a list of labels (strings or numbers)", classes)
    wanted = {"binary": "exactly 2", "multiclass": "at least 3", "regression": "no"}[task]
    count_ok = {"binary": len(classes) == 2, "multiclass": len(classes) >= 3, "regression": not classes}[task]
    if not count_ok or len({repr(c) for c in classes}) != len(classes):
        raise _bad(where, "classes", f"must hold {wanted} distinct labels for task {task!r}", classes)
    family = manifest.get("family")
    try:
        get_family(family if isinstance(family, str) else repr(family))
    except ConfigError as exc:
        raise _bad(where, "family", f"must name a registered family ({exc})", family) from None
    if not isinstance(manifest.get("preprocessing"), dict):
        raise _bad(where, "preprocessing", "must be a JSON object", manifest.get("preprocessing"))
    if not isinstance(manifest.get("info", {}) or {}, dict):
        raise _bad(where, "info", "must be a JSON object", manifest.get("info"))
    shape = manifest.get("image_shape")
    if shape is not None:
        if not (isinstance(shape, list) and len(shape) == 3 and all(type(d) is int and d > 0 for d in shape)):
            raise _bad(where, "image_shape", "must be null or three positive integers [C, H, W]", shape)
        if shape[0] * shape[1] * shape[2] > MAX_PIXELS:
            raise _bad(where, "image_shape", f"must describe at most {MAX_PIXELS} pixels", shape)
    entry = manifest.get("model")
    if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
        raise _bad(where, "model", "must be an object naming the model `file`", entry)
    if Path(entry["file"]).name != entry["file"] or entry["file"] in ("", ".", "..", MANIFEST):
        raise ModelFileError(f"{where}: model file {entry['file']!r} must be a plain file name. {_FIX}")
    runtime = entry.get("runtime", "native")
    if not isinstance(runtime, str) or (runtime != "native" and runtime not in RUNTIMES):
        raise _bad(where, "model.runtime", f"must be one of {['native', *sorted(RUNTIMES)]}", runtime)
    files = manifest.get("files")
    if files is not None:
        digest = files.get(entry["file"]) if isinstance(files, dict) else None
        if not (
            isinstance(digest, dict)
            and isinstance(digest.get("sha256"), str)
            and _SHA256.fullmatch(digest["sha256"])
            and type(digest.get("bytes")) is int
        ):
            raise _bad(where, "files", f"must give the sha256 and bytes of {entry['file']!r}", files)


def read_manifest(directory: Path) -> dict[str, Any]:
    """The checked manifest of a predictor directory.

    Raises:
        DataError: When ``directory`` holds no ``manifest.json``.
        ModelFileError: When the manifest is not a paretoml predictor manifest of this version, or a
            field breaks the schema (the message names the field).
    """
    manifest_file = directory / MANIFEST
    if not manifest_file.is_file():
        raise DataError(f"{directory} is not a saved paretoml predictor: {MANIFEST} is missing.")
    if manifest_file.stat().st_size > _MAX_MANIFEST_BYTES:
        raise _bad(manifest_file, "(file)", f"must be at most {_MAX_MANIFEST_BYTES} bytes", "larger")
    try:
        manifest = json.loads(manifest_file.read_bytes())
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ModelFileError(f"{manifest_file} is not valid JSON ({exc}). {_FIX}") from None
    _check_fields(manifest, manifest_file)
    return manifest


def verify_file(directory: Path, manifest: dict[str, Any], max_bytes: int) -> bytes:
    """The bytes of the manifest's model file, checked against its recorded sha256 and size.

    A manifest written before checksums were recorded (no ``files``) gives the bytes unchecked; the
    structure checks that follow still run on them.

    Raises:
        ModelFileError: When the file is missing, not a regular file, too large, or its bytes differ
            from those recorded at save time.
    """
    name = manifest["model"]["file"]
    path = directory / name
    if path.is_symlink() or not path.is_file():
        raise ModelFileError(f"{path}: the model file is missing or not a regular file. {_FIX}")
    size = path.stat().st_size
    recorded = (manifest.get("files") or {}).get(name)
    if size > max_bytes or (recorded is not None and size != recorded["bytes"]):
        expected = "" if recorded is None else f", {recorded['bytes']} recorded at save time"
        raise ModelFileError(f"{path}: the model file has {size} bytes{expected} (limit {max_bytes}). {_FIX}")
    data = path.read_bytes()
    if recorded is not None and hashlib.sha256(data).hexdigest() != recorded["sha256"]:
        raise ModelFileError(
            f"{path}: the model file's sha256 differs from the one recorded at save time (a corrupted or "
            f"altered file). {_FIX}"
        )
    return data
