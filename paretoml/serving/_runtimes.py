"""Serving runtimes behind one abstract base, kept in a plain registry dict.

A runtime turns a native model into a faster serving form (the ``runtime`` compression setting). A
saved predictor stores the native model and the runtime's name; loading builds the runtime again from
the native model, so no runtime binary is ever shipped or loaded from a model directory.
"""

from __future__ import annotations

import abc
import warnings

from paretoml.exceptions import ConfigError
from paretoml.families import Capability, FittedModel, get_family

__all__ = ["RUNTIMES", "BaseRuntime", "compiled", "get_runtime", "register_runtime"]


class BaseRuntime(abc.ABC):
    """A serving runtime for models whose family declares :attr:`requires`.

    Attributes:
        name: The registry key (a value of the ``runtime`` setting, recorded in the manifest).
        requires: Capabilities the model's family must declare.
    """

    name: str = ""
    requires: tuple[Capability, ...] = ()

    def unavailable(self) -> str | None:
        """Why the runtime cannot run on this machine (a missing compiler or package), or None."""
        return None

    @abc.abstractmethod
    def build(self, model: FittedModel, timeout: float | None, *, announce: bool = False) -> FittedModel:
        """``model`` in this runtime; the returned model's ``save`` records ``"runtime": name``.

        Args:
            model: The native model.
            timeout: Seconds the build may take (None: the runtime's own limit).
            announce: Log that a slow build (a compile) starts and how long it took.
        """


RUNTIMES: dict[str, BaseRuntime] = {}


def register_runtime(runtime: BaseRuntime) -> BaseRuntime:
    """Add ``runtime`` to :data:`RUNTIMES` under its ``name`` (replacing one of the same name)."""
    RUNTIMES[runtime.name] = runtime
    return runtime


def get_runtime(name: str, family: str) -> BaseRuntime:
    """The registered runtime ``name``, checked against the capabilities of ``family``.

    Raises:
        ConfigError: For an unknown runtime name.
        UnsupportedError: When the family lacks a capability the runtime needs.
    """
    spec = RUNTIMES.get(name)
    if spec is None:
        raise ConfigError(f"unknown runtime {name!r}; known runtimes are {['native', *sorted(RUNTIMES)]}.")
    for capability in spec.requires:
        get_family(family).require(capability, f"runtime {name!r}")
    return spec


def compiled(
    model: FittedModel, runtime: str, n_threads: int = 1, timeout: float | None = None, *, announce: bool = False
) -> FittedModel:
    """``model`` served by ``runtime``; the native model, with a warning, when the runtime cannot run here.

    Args:
        model: A native model.
        runtime: ``"native"`` or a key of :data:`RUNTIMES`.
        n_threads: Unused: the runtime takes the native model's threads (``set_threads`` changes both).
        timeout: Bounds the build's time (a trial passes what is left of its time limit).
        announce: Log that a compile starts and how long it took (loading a predictor does).

    Raises:
        ConfigError: For an unknown runtime name.
        UnsupportedError: When the model's family lacks a capability the runtime needs.
    """
    if runtime == "native":
        return model
    spec = get_runtime(runtime, model.family)
    missing = spec.unavailable()
    if missing is not None:
        warnings.warn(f"runtime {runtime!r} is unavailable ({missing}); serving the native model.", stacklevel=2)
        return model
    return spec.build(model, timeout, announce=announce)
