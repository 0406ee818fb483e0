"""XGBoost family: native UBJSON format, served with ``Booster.inplace_predict``.

xgboost is imported when a model is trained or loaded, not with this module.
"""

from __future__ import annotations

import ctypes
import json
import math
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from paretoml.families._base import FitData, FittedModel, as_output
from paretoml.families._boosted import ONNX_OPTIONS, BoostedTreeFamily, BoostedTreeModel, onnx_input

if TYPE_CHECKING:
    import xgboost as xgb

__all__ = ["XGBoostFamily", "XGBoostModel"]

_OBJECTIVE = {
    "binary": "binary:logistic",
    "multiclass": "multi:softprob",
    "regression": "reg:squarederror",
}


class _SingleRowPredictor:
    """``XGBoosterPredictFromDense`` with a prepared configuration: the C call that
    ``Booster.inplace_predict`` makes, without its per-call Python validation and JSON building."""

    def __init__(self, booster: xgb.Booster, n_features: int) -> None:
        import xgboost as xgb

        self._lib = xgb.core._LIB
        lib = ctypes.CDLL(self._lib._name)  # same library, our own function objects
        self._fn = lib.XGBoosterPredictFromDense
        self._fn.restype = ctypes.c_int
        self._booster = booster
        self._config = json.dumps(
            {"type": 0, "training": False, "iteration_begin": 0, "iteration_end": 0,
             "missing": float("nan"), "strict_shape": False, "cache_id": 0}
        ).encode()  # fmt: skip
        self._template = '{"data": [%d, true], "shape": [1, %d], "strides": null, "typestr": "<f8", "version": 3}'
        self._n_features = n_features
        self._shape = ctypes.POINTER(ctypes.c_uint64)()
        self._dims = ctypes.c_uint64()
        self._preds = ctypes.POINTER(ctypes.c_float)()
        self._lock = threading.Lock()

    def __call__(self, row: np.ndarray) -> np.ndarray:
        row = np.ascontiguousarray(row, dtype=np.float64)
        interface = (self._template % (row.ctypes.data, self._n_features)).encode()
        with self._lock:
            status = self._fn(
                self._booster.handle, interface, self._config, None,
                ctypes.byref(self._shape), ctypes.byref(self._dims), ctypes.byref(self._preds),
            )  # fmt: skip
            if status != 0:
                raise RuntimeError(self._lib.XGBGetLastError().decode())
            n_out = 1
            for i in range(self._dims.value):
                n_out *= int(self._shape[i])
            return np.ctypeslib.as_array(self._preds, shape=(n_out,)).astype(np.float64)


class XGBoostModel(BoostedTreeModel):
    """An XGBoost booster sliced to its best iteration."""

    family = "xgboost"
    file_name = "model.xgb.ubj"

    def __init__(self, booster: xgb.Booster, *, task: str, n_classes: int, n_threads: int = 1) -> None:
        try:
            self.single_row = _SingleRowPredictor(booster, booster.num_features())
        except (AttributeError, OSError):
            self.single_row = None  # an unusual XGBoost build: fall back to inplace_predict
        super().__init__(booster, task=task, n_classes=n_classes, n_threads=n_threads)

    def set_threads(self, n_threads: int) -> None:
        self.n_threads = n_threads
        self.booster.set_param({"nthread": n_threads})

    def predict(self, X: np.ndarray) -> np.ndarray:
        return as_output(np.asarray(self.booster.inplace_predict(X)), self.task, len(X))

    def native_bytes(self) -> bytes:
        return bytes(self.booster.save_raw("ubj"))

    def stats(self) -> dict[str, int]:
        dump = self.booster.get_dump()
        return {"n_trees": len(dump), "n_leaves": sum(tree.count("leaf=") for tree in dump)}

    def boosting_rounds(self) -> int:
        return int(self.booster.num_boosted_rounds())

    def truncated(self, rounds: int) -> FittedModel:
        return self.with_booster(self.booster[:rounds])

    def treelite_model(self) -> Any:
        import treelite

        return treelite.frontend.from_xgboost(self.booster)

    def onnx_model(self) -> Any:
        from onnxmltools import convert_xgboost

        return convert_xgboost(self.booster, initial_types=onnx_input(self.booster.num_features()), **ONNX_OPTIONS)


class XGBoostFamily(BoostedTreeFamily):
    """Gradient-boosted trees with XGBoost (hist), early-stopped on the validation split."""

    name = "xgboost"
    model_class = XGBoostModel

    def train(self, data: FitData, params: dict[str, Any], rounds: int, patience: int | None) -> BoostedTreeModel:
        import xgboost as xgb

        p = dict(params)
        max_bin = int(p.pop("max_bin", 256))
        train_params: dict[str, Any] = {
            "objective": _OBJECTIVE[data.task],
            "tree_method": "hist",
            "nthread": data.n_threads,
            "seed": data.seed,
            "max_bin": max_bin,
            "verbosity": 0,
            **p,
        }
        if data.task == "multiclass":
            train_params["num_class"] = data.n_classes
        p_features = data.X_train.shape[1]
        types = ["c" if j in set(data.cat_indices) else "q" for j in range(p_features)]
        dtrain = xgb.QuantileDMatrix(
            data.X_train,
            data.y_train,
            feature_types=types,
            enable_categorical=True,
            max_bin=max_bin,
        )
        dvalid = xgb.DMatrix(data.X_valid, data.y_valid, feature_types=types, enable_categorical=True)

        class Deadline(xgb.callback.TrainingCallback):
            """Stops training when the trial's deadline passes."""

            hit = False

            def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
                self.hit = data.past_deadline()
                return self.hit

        stop = Deadline()
        booster = xgb.train(
            train_params,
            dtrain,
            rounds,
            evals=[(dvalid, "valid")],
            early_stopping_rounds=patience,
            verbose_eval=False,
            callbacks=[stop],
        )
        if stop.hit:
            raise data.timeout_error(booster.num_boosted_rounds())
        if patience and booster.best_iteration is not None and booster.best_iteration + 1 < rounds:
            booster = booster[: booster.best_iteration + 1]
        return XGBoostModel(booster, task=data.task, n_classes=data.n_classes, n_threads=data.n_threads)

    def read_booster(self, file: Path) -> Any:
        import xgboost as xgb

        booster = xgb.Booster()
        booster.load_model(str(file))
        return booster

    def student_params(self, params: dict[str, Any], *, leaves: int, task: str) -> dict[str, Any]:
        student = {k: v for k, v in params.items() if k != "max_leaves"}
        student["grow_policy"] = "depthwise"
        student["max_depth"] = max(1, math.ceil(math.log2(leaves)))  # about `leaves` leaves per tree
        return student
