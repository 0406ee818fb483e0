"""Search spaces as data: YAML files loaded into Optuna suggestions."""

from __future__ import annotations

from paretoml.spaces._loader import ParamSpec, SearchSpace, default_space_path, load_space

__all__ = ["ParamSpec", "SearchSpace", "default_space_path", "load_space"]
