"""Data intake: validation, task inference, splits and the fitted preprocessing."""

from __future__ import annotations

from paretoml.data._images import ImageShape, image_data, normalise_shape
from paretoml.data._intake import TASKS, Dataset, Task, as_frame, intake, intake_like
from paretoml.data._preprocess import FeatureSpec, Preprocessor
from paretoml.data._split import Part, Splits, make_splits

__all__ = [
    "TASKS",
    "Dataset",
    "FeatureSpec",
    "ImageShape",
    "Part",
    "Preprocessor",
    "Splits",
    "Task",
    "as_frame",
    "image_data",
    "intake",
    "intake_like",
    "make_splits",
    "normalise_shape",
]
