"""Study files: YAML that names the data and sets any ``optimize`` argument that has a file form.

The keys are those of the settings schema (:mod:`paretoml._settings`): every ``optimize`` argument but
the ones in :data:`~paretoml._settings.PYTHON_ONLY`, with ``valid_size``/``test_size`` under ``split``.
The README's "Study files" example is :func:`~paretoml._settings.study_file_example` (a test keeps them
equal). Every value is checked against the same constraints as the argument, and the error names the file.
Paths (``data``, ``validation``, ``test``, ``storage``, ``artifacts``, ``search_spaces`` values and
``compression`` YAML files) are relative to the file's folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from paretoml._constraints import Fields, Instance
from paretoml._settings import Param, schema
from paretoml.exceptions import ConfigError, DataError

__all__ = ["StudyFile", "file_keys", "load_data", "read_study_file"]

_BUNDLED = ("breast_cancer", "digits", "wine", "diabetes", "iris")
_DATA_FILE = (Instance((str,), "a CSV/Parquet path (str)"),)
_DATA_KEYS = ("validation", "test")  # data sets: read from a path when the study runs


def file_keys() -> dict[str, list[Param]]:
    """The study file's top-level keys and the settings each one sets (``split`` sets two)."""
    keys: dict[str, list[Param]] = {}
    for param in schema():
        if param.file is not None:
            keys.setdefault(param.file.split(".")[0], []).append(param)
    return keys


@dataclass
class StudyFile:
    """A parsed study file, with paths resolved against the file's folder."""

    path: Path
    study_name: str
    data: str
    target: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def optimize_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`paretoml.optimize` (all but ``data`` and ``budget``); ``validation``
        and ``test`` files are read here."""
        options = {k: v for k, v in self.options.items() if k != "storage_given"}
        for key in _DATA_KEYS:
            if key in options:
                options[key] = load_data(options[key])
        return {"target": self.target, "study_name": self.study_name, **options}


def _resolve(base: Path, value: str | Path) -> str:
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def _check(file: Path, key: str, value: Any) -> None:
    """Check one key's value against its settings' constraints; the error names the file."""
    params = file_keys()[key]
    try:
        if key == "split":
            rules = {p.file.split(".")[1]: (p.rules, p.fix) for p in params if p.file}
            Param("split", (Fields(rules),), "Write e.g. {valid_size: 0.2, test_size: 0.2}.", "", "", None).check(value)
        elif key in _DATA_KEYS:
            Param(key, _DATA_FILE, "Write the path of a CSV or Parquet file.", "", "", None).check(value)
        elif key == "budget":
            Param(
                key, (Instance((int, float, str), "seconds or a duration string"),), params[0].fix, "", "", None
            ).check(value)
        else:
            params[0].check(value)
    except ConfigError as exc:
        raise ConfigError(f"{file}: {exc}") from None


def read_study_file(path: str | Path) -> tuple[StudyFile, Any]:
    """Read a study file and check every value.

    Returns:
        The parsed file and its budget (as written, parsed later by ``optimize``).

    Raises:
        ConfigError: When the file is missing or a key is unknown or malformed.
    """
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"study file {str(file)!r} not found. Pass the path of a YAML study file.")
    try:
        raw = yaml.safe_load(file.read_text()) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: must be a mapping of study settings.")
    keys = file_keys()
    unknown = set(raw) - set(keys)
    if unknown:
        raise ConfigError(f"{file}: unknown keys {sorted(map(str, unknown))}; allowed: {sorted(keys)}.")
    if raw.get("data") is None:
        raise ConfigError(f"{file}: `data` is required (e.g. 'sklearn:breast_cancer' or a CSV path).")
    for key, value in raw.items():
        if value is not None and key not in ("data", "study_name"):
            _check(file, key, value)
    base = file.parent.resolve()
    name = str(raw.get("study_name") or file.stem)
    data = str(raw["data"])
    if not data.startswith("sklearn:"):
        data = _resolve(base, data)
    options: dict[str, Any] = {}
    for key in keys.keys() - {"data", "budget", "target", "study_name", "split", "storage"}:
        if raw.get(key) is not None:
            options[key] = raw[key]
    options.update(raw.get("split") or {})
    for key in ("artifacts", *_DATA_KEYS):
        if key in options:
            options[key] = _resolve(base, options[key])
    if "search_spaces" in options:
        options["search_spaces"] = {k: _resolve(base, v) for k, v in options["search_spaces"].items()}
    if "compression" in options:
        options["compression"] = _resolve_compression(base, options["compression"])
    if "image_shape" in options:
        options["image_shape"] = tuple(options["image_shape"])
    storage = raw.get("storage")
    journal = int(raw.get("workers") or 1) > 1  # many writers: a journal file, not SQLite
    default = f"{name}.log" if journal else f"{name}.db"
    options["storage"] = storage if storage and "://" in str(storage) else _resolve(base, storage or default)
    options["storage_given"] = bool(storage)
    study = StudyFile(path=file, study_name=name, data=data, target=raw.get("target"), options=options)
    return study, raw.get("budget", 60)


def _resolve_compression(base: Path, spec: Any) -> Any:
    """YAML paths in ``compression`` (one or a list) are relative to the study file."""
    if isinstance(spec, list):
        return [_resolve(base, s) if isinstance(s, str) else s for s in spec]
    return _resolve(base, spec) if isinstance(spec, str) else spec


def load_data(spec: str) -> pd.DataFrame:
    """Load ``sklearn:<name>`` (a bundled set, target column ``target``) or a CSV/Parquet file.

    Raises:
        ConfigError: For an unknown bundled name, a missing file or an unknown file type.
        DataError: For a file that cannot be parsed (malformed or binary).
    """
    if spec.startswith("sklearn:"):
        name = spec.split(":", 1)[1]
        if name not in _BUNDLED:
            raise ConfigError(f"`data` sklearn:{name} is not bundled; choose one of {list(_BUNDLED)}.")
        import sklearn.datasets

        frame: pd.DataFrame = getattr(sklearn.datasets, f"load_{name}")(as_frame=True).frame
        return frame
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"`data` file {spec!r} not found.")
    try:
        if path.name.endswith((".csv", ".csv.gz")):
            return pd.read_csv(path)
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:  # malformed, binary, empty
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        kind = "Parquet" if path.suffix == ".parquet" else "CSV"
        raise DataError(
            f"`data` file {spec!r} cannot be read as {kind} ({first}). Check that it "
            "is a UTF-8 CSV with one header row and the same number of fields on every line (or a Parquet file)."
        ) from exc
    raise ConfigError(f"`data` file {spec!r} must be .csv, .csv.gz or .parquet.")
