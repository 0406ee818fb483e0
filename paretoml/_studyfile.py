"""Study files: YAML that names the data, target, metric, budget, storage, spaces and hardware.

Format (every key but ``data`` optional)::

    study_name: breast_cancer        # default: the file's stem
    data: sklearn:breast_cancer      # a scikit-learn bundled set, or a CSV/Parquet path (relative to this file)
    target: target                   # target column (bundled sets call it "target")
    task: null                       # binary | multiclass | regression; inferred when null
    metric: roc_auc                  # any scikit-learn scorer name; default by task
    budget: 2m                       # seconds, "90s", "5m", "1h" or "50 trials"
    storage: null                    # Optuna URL or path; default: <this dir>/<study_name>.db (SQLite)
    artifacts: null                  # default: next to the SQLite file
    families: [lightgbm, xgboost]
    search_spaces: {}                # family: YAML path (relative to this file)
    hardware: {n_threads: 2}         # default: this machine's CPUs
    features: shap                   # shap | gain | off | [sizes] | {method, sizes, min_features, sample_rows}
    image_shape: null                # [H, W] or [C, H, W] when the columns are image pixels (adds CNNs)
    trial_timeout: 600               # seconds one trial may take before it is recorded as FAIL
    seed: 0
    split: {valid_size: 0.2, test_size: 0.2}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from paretoml.exceptions import ConfigError

__all__ = ["StudyFile", "load_data", "read_study_file"]

_KEYS = {
    "study_name", "data", "target", "task", "metric", "budget", "storage", "artifacts", "families",
    "search_spaces", "hardware", "seed", "split", "sampler", "features", "trial_timeout", "image_shape",
}  # fmt: skip
_BUNDLED = ("breast_cancer", "digits", "wine", "diabetes", "iris")


@dataclass
class StudyFile:
    """A parsed study file, with paths resolved against the file's folder."""

    path: Path
    study_name: str
    data: str
    target: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def optimize_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`paretoml.optimize` (all but ``data`` and ``budget``)."""
        options = {k: v for k, v in self.options.items() if k != "storage_given"}
        return {"target": self.target, "study_name": self.study_name, **options}


def _resolve(base: Path, value: str) -> str:
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def read_study_file(path: str | Path) -> tuple[StudyFile, Any]:
    """Read a study file.

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
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: must be a mapping of study settings.")
    unknown = set(raw) - _KEYS
    if unknown:
        raise ConfigError(f"{file}: unknown keys {sorted(unknown)}; allowed: {sorted(_KEYS)}.")
    if "data" not in raw:
        raise ConfigError(f"{file}: `data` is required (e.g. 'sklearn:breast_cancer' or a CSV path).")
    base = file.parent.resolve()
    name = str(raw.get("study_name") or file.stem)
    data = str(raw["data"])
    if not data.startswith("sklearn:"):
        data = _resolve(base, data)
    options: dict[str, Any] = {}
    passed = ("task", "metric", "families", "hardware", "seed", "sampler", "features", "trial_timeout", "image_shape")
    for key in passed:
        if raw.get(key) is not None:
            options[key] = raw[key]
    split = raw.get("split") or {}
    if not isinstance(split, dict) or set(split) - {"valid_size", "test_size"}:
        raise ConfigError(f"{file}: `split` takes valid_size and test_size; got {split!r}.")
    options.update(split)
    storage = raw.get("storage")
    options["storage"] = storage if storage and "://" in str(storage) else _resolve(base, storage or f"{name}.db")
    options["storage_given"] = bool(storage)
    if raw.get("artifacts"):
        options["artifacts"] = _resolve(base, str(raw["artifacts"]))
    spaces = raw.get("search_spaces") or {}
    if not isinstance(spaces, dict):
        raise ConfigError(f"{file}: `search_spaces` must map family names to YAML paths; got {spaces!r}.")
    if spaces:
        options["search_spaces"] = {k: _resolve(base, str(v)) for k, v in spaces.items()}
    study = StudyFile(path=file, study_name=name, data=data, target=raw.get("target"), options=options)
    return study, raw.get("budget", 60)


def load_data(spec: str) -> pd.DataFrame:
    """Load ``sklearn:<name>`` (a bundled set, target column ``target``) or a CSV/Parquet file.

    Raises:
        ConfigError: For an unknown bundled name, a missing file or an unknown file type.
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
    if path.name.endswith((".csv", ".csv.gz")):
        return pd.read_csv(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    raise ConfigError(f"`data` file {spec!r} must be .csv, .csv.gz or .parquet.")
