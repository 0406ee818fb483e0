"""Image-like data: arrays ``(N, H, W)`` / ``(N, C, H, W)``, or pixel columns with ``image_shape=``.

Images are flattened in C-order to one numeric column per pixel, so that every family sees the same
rows: gradient-boosted models compete on the flattened pixels, and the CNN family reshapes them back
with the image shape ``(C, H, W)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from paretoml.exceptions import ConfigError, DataError

__all__ = ["ImageShape", "image_data", "normalise_shape"]

ImageShape = tuple[int, int, int]


def normalise_shape(shape: Sequence[int] | None, *, name: str = "image_shape") -> ImageShape | None:
    """``(H, W)`` or ``(C, H, W)`` as ``(C, H, W)``; None stays None.

    Raises:
        ConfigError: When the shape is not 2 or 3 positive integers.
    """
    if shape is None:
        return None
    try:
        dims = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise ConfigError(f"`{name}` must be (height, width) or (channels, height, width); got {shape!r}.") from None
    if len(dims) not in (2, 3) or min(dims) < 1 or any(d != s for d, s in zip(dims, shape, strict=True)):
        raise ConfigError(
            f"`{name}` must be 2 or 3 positive integers, (height, width) or (channels, height, width); got {shape!r}."
        )
    return (1, *dims) if len(dims) == 2 else (dims[0], dims[1], dims[2])


def _pixels_frame(images: np.ndarray, name: str) -> pd.DataFrame:
    if images.dtype.kind not in "biuf":
        raise DataError(
            f"`{name}` images must hold numbers; got dtype {images.dtype}. Convert them, e.g. X.astype(float)."
        )
    flat = images.reshape(len(images), -1)
    return pd.DataFrame(flat, columns=[f"pixel_{i}" for i in range(flat.shape[1])])


def _check_pixels(X: pd.DataFrame, shape: ImageShape, name: str) -> None:
    n_pixels = int(np.prod(shape))
    if X.shape[1] != n_pixels:
        raise DataError(
            f"`image_shape`={shape} needs {n_pixels} pixel columns, but `{name}` has {X.shape[1]} feature columns. "
            "Pass the right shape, or only the pixel columns (plus the target)."
        )
    bad = [c for c in X.columns if not ptypes.is_numeric_dtype(X[c].dtype) or ptypes.is_bool_dtype(X[c].dtype)]
    if bad:
        raise DataError(
            f"pixel columns must be numeric; `{name}` columns {bad[:5]!r} are not. Convert them to numbers."
        )
    values = X.to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(values).all():
        n_bad = int((~np.isfinite(values)).any(axis=1).sum())
        raise DataError(
            f"`{name}` has NaN or infinite pixel values in {n_bad} images; a CNN needs finite pixels. "
            "Fill them (e.g. with 0) or drop those images."
        )


def image_data(
    data: Any, image_shape: Sequence[int] | None, *, target: str | None, name: str = "data"
) -> tuple[Any, ImageShape | None]:
    """Recognise image data and return it in tabular form with its ``(C, H, W)`` shape.

    Args:
        data: ``(X, y)`` with X an array of images ``(N, H, W)`` or ``(N, C, H, W)``; or a DataFrame /
            ``(X, y)`` of pixel columns together with ``image_shape``; or any tabular data (returned as is).
        image_shape: ``(H, W)`` or ``(C, H, W)``; required for pixel columns, checked against image arrays.
        target: The target column of a DataFrame.
        name: The parameter name for error messages.

    Returns:
        The data (image arrays flattened to ``pixel_<i>`` columns) and the image shape, or None for
        data that is not image-like.

    Raises:
        DataError: When pixel columns do not fit ``image_shape`` or hold non-numeric or non-finite values.
    """
    shape = normalise_shape(image_shape)
    if isinstance(data, tuple) and len(data) == 2 and not isinstance(data[0], pd.DataFrame):
        X = np.asarray(data[0])
        if X.ndim in (3, 4):
            found: ImageShape = (1, *X.shape[1:]) if X.ndim == 3 else (X.shape[1], X.shape[2], X.shape[3])
            if shape is not None and shape != found:
                raise DataError(f"`image_shape`={shape} does not match the images in `{name}`, of shape {found}.")
            if len(X) == 0:
                raise DataError(f"`{name}` holds no images. Pass at least one.")
            frame = _pixels_frame(X, name)
            _check_pixels(frame, found, name)
            return (frame, data[1]), found
    if shape is None:
        return data, None
    if isinstance(data, pd.DataFrame):
        features = data.drop(columns=[target]) if target is not None and target in data.columns else data
    elif isinstance(data, tuple) and len(data) == 2:
        if isinstance(data[0], pd.DataFrame):
            features = data[0]
        else:
            arr = np.asarray(data[0])
            if arr.ndim != 2:
                raise DataError(f"`{name}` must hold 2-D pixel rows with `image_shape`; got shape {arr.shape}.")
            features = pd.DataFrame(arr)
    else:
        return data, shape  # intake reports the bad type
    _check_pixels(features, shape, name)
    return data, shape
