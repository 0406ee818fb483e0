"""Study running: storage, artifacts, the per-trial objective."""

from __future__ import annotations

from paretoml.study._objective import INTERRUPTED, Objective, StudyContext, fail_interrupted
from paretoml.study._storage import (
    artifact_dir_for,
    artifact_store,
    make_sampler,
    open_storage,
    open_study,
    storage_url,
)
from paretoml.study._warm import WARM_START, enqueue_warm_start

__all__ = [
    "INTERRUPTED",
    "WARM_START",
    "Objective",
    "StudyContext",
    "artifact_dir_for",
    "artifact_store",
    "enqueue_warm_start",
    "fail_interrupted",
    "make_sampler",
    "open_storage",
    "open_study",
    "storage_url",
]
