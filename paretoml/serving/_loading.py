"""Loading a saved predictor's parts, checking each before it reaches a native library.

Order: the manifest against its schema (:func:`read_manifest`); the model file's bytes against the
sha256 recorded at save time; the file's structure (:mod:`paretoml.serving._checks`); the model's
feature and output counts against the manifest's preprocessing and classes; only then the family's
own loader; last the runtime, which may compile (bounded, logged, and refusable with
``runtime="native"``).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from paretoml.data._preprocess import Preprocessor
from paretoml.exceptions import ConfigError, ModelFileError, ParetoMLError, TrialTimeoutError
from paretoml.families import FittedModel, get_family
from paretoml.serving._checks import check_model_file
from paretoml.serving._manifest import MANIFEST, MAX_PIXELS, verify_file
from paretoml.serving._runtimes import RUNTIMES, compiled
from paretoml.serving._store import MAX_MODEL_BYTES

__all__ = ["COMPILE_TIMEOUT", "load_parts"]

#: Seconds a compile at load may take before the native model is served instead.
COMPILE_TIMEOUT = 300.0
_FIX = "Re-export the model with paretoml (`Predictor.save` or `paretoml export`) from its study."


def _preprocessor(manifest: dict[str, Any], where: Path) -> Preprocessor:
    data = manifest["preprocessing"]
    features = data.get("features")
    pixels = features.get("pixels") if isinstance(features, dict) else None
    shape = manifest.get("image_shape")
    if isinstance(features, dict) and not (type(pixels) is int and 0 < pixels <= MAX_PIXELS):
        raise ModelFileError(f"{where}: manifest field `preprocessing.features.pixels` must be an integer in "
                             f"[1, {MAX_PIXELS}]; got {pixels!r}. {_FIX}")  # fmt: skip
    if pixels is not None and shape is not None and pixels != shape[0] * shape[1] * shape[2]:
        raise ModelFileError(f"{where}: manifest field `preprocessing.features.pixels` ({pixels}) is not the "
                             f"pixel count of `image_shape` {shape}. {_FIX}")  # fmt: skip
    try:
        return Preprocessor.from_dict(data)
    except ParetoMLError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise ModelFileError(f"{where}: manifest field `preprocessing` is malformed ({exc!r}). {_FIX}") from None


def _runtime(requested: str | None, recorded: str) -> str:
    if requested is None:
        return recorded
    if not isinstance(requested, str) or (requested != "native" and requested not in RUNTIMES):
        raise ConfigError(f"`runtime` must be None (the saved one), 'native' or one of {sorted(RUNTIMES)}; "
                          f"got {requested!r}.")  # fmt: skip
    return requested


def load_parts(
    source: Path, manifest: dict[str, Any], *, runtime: str | None = None, compile_timeout: float = COMPILE_TIMEOUT
) -> tuple[Preprocessor, FittedModel]:
    """The checked preprocessing and model of the predictor in ``source`` (its ``manifest`` read).

    Args:
        source: The predictor directory.
        manifest: Its manifest, as :func:`read_manifest` returned it.
        runtime: Serve through this runtime instead of the saved one (``"native"``: never compile).
        compile_timeout: Seconds a compile may take; past it (or when the compiler fails) the native model
            is served, with a warning.

    Raises:
        ModelFileError: When the model file is corrupted, malformed, or disagrees with the manifest.
        ConfigError: For an unknown ``runtime``.
    """
    where = source / MANIFEST
    entry = manifest["model"]
    serve = _runtime(runtime, entry.get("runtime", "native"))
    preprocessor = _preprocessor(manifest, where)
    family = get_family(manifest["family"])
    if not family.supports(manifest["task"]):
        raise ModelFileError(f"{where}: family {family.name!r} does not serve task {manifest['task']!r}. {_FIX}")
    data = verify_file(source, manifest, MAX_MODEL_BYTES)
    facts = check_model_file(family.name, source / entry["file"], data, entry)
    if facts is not None:
        problem = facts.mismatch(manifest["task"], len(manifest["classes"]), len(preprocessor.names))
        if problem is not None:
            raise ModelFileError(f"{source / entry['file']} does not match its manifest: {problem}. {_FIX}")
    try:
        model = family.load(source, entry, task=manifest["task"], n_classes=len(manifest["classes"]))
    except ParetoMLError:
        raise
    except Exception as exc:  # the model library's own error, whatever its type
        raise ModelFileError(
            f"{source / entry['file']}: the {family.name} library cannot read it ({exc}). {_FIX}"
        ) from None
    try:
        return preprocessor, compiled(model, serve, n_threads=1, timeout=compile_timeout, announce=True)
    except (TrialTimeoutError, RuntimeError, OSError) as exc:  # past the time limit, or the compiler failed
        why = f"ran past {compile_timeout:.0f} s" if isinstance(exc, TrialTimeoutError) else f"failed ({exc})"
        warnings.warn(f"compiling the model for runtime {serve!r} {why}; serving the native model, which predicts "
                      "the same. Raise `compile_timeout`, or load with runtime='native'.", stacklevel=3)  # fmt: skip
        return preprocessor, model
