"""LightGBM family: native text format; single rows through LightGBM's fast single-row C API.

lightgbm is imported when a model is trained or loaded, not with this module.
"""

from __future__ import annotations

import ctypes
import re
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from paretoml.families._base import Capability, FitData, FittedModel, as_output
from paretoml.families._boosted import ONNX_OPTIONS, TREE_CAPABILITIES, BoostedTreeFamily, BoostedTreeModel, onnx_input

if TYPE_CHECKING:
    import lightgbm as lgb

__all__ = ["LightGBMFamily", "LightGBMModel", "float32_thresholds", "lightgbm_params"]

_OBJECTIVE = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}
_PREDICT_NORMAL = 0
_DTYPE_FLOAT64 = 1


def lightgbm_params(task: str, n_classes: int, *, n_threads: int, seed: int, **params: Any) -> dict[str, Any]:
    """LightGBM training parameters for ``task``: objective, class count, threads, seed, determinism.

    ``params`` (the sampled hyperparameters) override the defaults. The family, the distillation
    teacher (through the family) and the feature ranking's reference model all train with these.
    """
    out: dict[str, Any] = {
        "objective": _OBJECTIVE[task],
        "verbosity": -1,
        "num_threads": n_threads,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        **params,
    }
    if task == "multiclass":
        out["num_class"] = n_classes
    return out


def float32_thresholds(text: str) -> str:
    """A LightGBM text model whose numerical thresholds ``t`` are the largest float32 not above ``t``.

    The ONNX tree ensemble compares float32 values with float32 thresholds; for a float32 input ``x``,
    ``x <= t`` exactly when ``x <= rounddown32(t)``, so the converted model splits every float32 row as
    LightGBM does (rounding ``t`` to the nearest float32 instead would flip rows equal to it).
    Categorical splits (``decision_type`` bit 0) keep their thresholds: indices into the category sets.
    The header's ``tree_sizes`` (byte offsets, now stale) is dropped; LightGBM then reads trees in turn.
    """
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.startswith("threshold=") or i + 1 >= len(lines) or not lines[i + 1].startswith("decision_type="):
            continue
        kinds = [int(k) for k in lines[i + 1][len("decision_type=") :].split()]
        values = np.array([float(v) for v in line[len("threshold=") :].split()], dtype=np.float64)
        down = values.astype(np.float32)
        down = np.where(down.astype(np.float64) > values, np.nextafter(down, np.float32(-np.inf)), down)
        kept = [repr(float(v)) if k & 1 else repr(float(d)) for v, d, k in zip(values, down, kinds, strict=True)]
        lines[i] = "threshold=" + " ".join(kept)
    return "\n".join(line for line in lines if not line.startswith("tree_sizes="))  # byte sizes changed


class _SingleRowPredictor:
    """LightGBM's ``LGBM_BoosterPredictForMatSingleRowFast``: no per-call config parsing."""

    def __init__(self, booster: lgb.Booster, n_features: int, n_out: int, n_threads: int) -> None:
        import lightgbm as lgb

        lib = ctypes.CDLL(lgb.basic._LIB._name)  # same library, our own function objects
        init = lib.LGBM_BoosterPredictForMatSingleRowFastInit
        self._fn = lib.LGBM_BoosterPredictForMatSingleRowFast
        self._fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        self._fn.restype = ctypes.c_int
        self._config = ctypes.c_void_p()
        params = f"num_threads={n_threads}".encode()
        status = init(
            booster._handle,
            ctypes.c_int(_PREDICT_NORMAL),
            ctypes.c_int(0),
            ctypes.c_int(-1),
            ctypes.c_int(_DTYPE_FLOAT64),
            ctypes.c_int32(n_features),
            ctypes.c_char_p(params),
            ctypes.byref(self._config),
        )
        if status != 0:
            raise RuntimeError(lib.LGBM_GetLastError())
        self._out = np.empty(n_out, dtype=np.float64)
        self._out_len = ctypes.c_int64()
        self._args = (self._config, ctypes.addressof(self._out_len), self._out.ctypes.data)
        self._lock = threading.Lock()
        self._booster = booster  # keeps the handle alive as long as the config
        weakref.finalize(self, lib.LGBM_FastConfigFree, self._config)

    def __call__(self, row: np.ndarray) -> np.ndarray:
        row = np.ascontiguousarray(row, dtype=np.float64)
        config, out_len, out = self._args
        with self._lock:
            if self._fn(config, row.ctypes.data, out_len, out) != 0:
                raise RuntimeError("LightGBM single-row prediction failed")
            return self._out.copy()


class LightGBMModel(BoostedTreeModel):
    """A LightGBM booster trimmed to its best iteration."""

    family = "lightgbm"
    file_name = "model.lgb.txt"

    def set_threads(self, n_threads: int) -> None:
        self.n_threads = n_threads
        n_out = self.n_classes if self.task == "multiclass" else 1
        try:
            self.single_row = _SingleRowPredictor(self.booster, self.booster.num_feature(), n_out, n_threads)
        except (AttributeError, OSError, RuntimeError):
            self.single_row = None  # an unusual LightGBM build: fall back to Booster.predict

    def predict(self, X: np.ndarray) -> np.ndarray:
        return as_output(np.asarray(self.booster.predict(X, num_threads=self.n_threads)), self.task, len(X))

    def native_bytes(self) -> bytes:
        return str(self.booster.model_to_string()).encode()

    def stats(self) -> dict[str, int]:
        text = self.booster.model_to_string()
        leaves = sum(int(v) for v in re.findall(r"^num_leaves=(\d+)$", text, flags=re.M))
        return {"n_trees": self.booster.num_trees(), "n_leaves": leaves}

    def boosting_rounds(self) -> int:
        return int(self.booster.current_iteration())

    def truncated(self, rounds: int) -> FittedModel:
        import lightgbm as lgb

        return self.with_booster(lgb.Booster(model_str=self.booster.model_to_string(num_iteration=rounds)))

    def treelite_model(self) -> Any:
        import treelite

        return treelite.frontend.from_lightgbm(self.booster)

    def onnx_model(self) -> Any:
        """The ONNX tree ensemble, its thresholds rounded down to float32 (see :func:`float32_thresholds`)."""
        import lightgbm as lgb
        from onnxmltools import convert_lightgbm

        text = float32_thresholds(self.booster.model_to_string())
        # a distillation student's cross-entropy is the logistic link of binary with sigmoid 1, which
        # onnxmltools knows (it rejects cross_entropy)
        text = re.sub(r"^objective=(cross_entropy|xentropy)$", "objective=binary sigmoid:1", text, flags=re.M)
        text = re.sub(r"^\[objective: (cross_entropy|xentropy)\]$", "[objective: binary]", text, flags=re.M)
        booster = lgb.Booster(model_str=text)
        return convert_lightgbm(booster, initial_types=onnx_input(booster.num_feature()), zipmap=False, **ONNX_OPTIONS)


class LightGBMFamily(BoostedTreeFamily):
    """Gradient-boosted trees with LightGBM, early-stopped on the validation split."""

    name = "lightgbm"
    model_class = LightGBMModel
    capabilities = TREE_CAPABILITIES | {Capability.LIGHTGBM_TEXT}

    def train(self, data: FitData, params: dict[str, Any], rounds: int, patience: int | None) -> BoostedTreeModel:
        import lightgbm as lgb

        train_params = lightgbm_params(data.task, data.n_classes, n_threads=data.n_threads, seed=data.seed, **params)
        cats: list[int] | Literal["auto"] = data.cat_indices or "auto"
        train = lgb.Dataset(data.X_train, data.y_train, categorical_feature=cats, free_raw_data=True)
        valid = lgb.Dataset(data.X_valid, data.y_valid, reference=train, categorical_feature=cats)
        callbacks: list[Callable[..., Any]] = [lgb.early_stopping(patience, verbose=False)] if patience else []

        def deadline(env: Any) -> None:
            if data.past_deadline():
                raise data.timeout_error(env.iteration + 1)

        callbacks.append(deadline)
        booster = lgb.train(train_params, train, rounds, valid_sets=[valid], callbacks=callbacks)
        best = booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration()
        trimmed = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
        return LightGBMModel(trimmed, task=data.task, n_classes=data.n_classes, n_threads=data.n_threads)

    def read_booster(self, file: Path) -> Any:
        import lightgbm as lgb

        return lgb.Booster(model_file=str(file))

    def student_params(self, params: dict[str, Any], *, leaves: int, task: str) -> dict[str, Any]:
        student = {**params, "num_leaves": leaves}
        if task == "binary":
            student["objective"] = "cross_entropy"  # learns soft labels in [0, 1]
        return student
