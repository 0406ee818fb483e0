"""The hardware a study measures on: thread count, device and a fingerprint of the machine."""

from __future__ import annotations

import hashlib
import os
import platform
from dataclasses import asdict, dataclass, field
from typing import Any

from paretoml.exceptions import ConfigError

__all__ = ["Hardware", "resolve_hardware"]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _library_versions() -> dict[str, str]:
    import lightgbm
    import numpy
    import optuna
    import pandas
    import sklearn
    import xgboost

    return {m.__name__: m.__version__ for m in (lightgbm, numpy, optuna, pandas, sklearn, xgboost)}


@dataclass(frozen=True)
class Hardware:
    """Where models are trained and timed.

    Attributes:
        n_threads: Threads for training and prediction (default: the CPUs this process may use).
        device: ``"cpu"``; no family trains or serves on a GPU yet, so other devices are refused.
        facts: Machine description stored with the study.
    """

    n_threads: int = 0
    device: str = "cpu"
    facts: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """A short hash of the machine facts and the serving configuration."""
        text = repr(sorted(self.facts.items())) + f"|{self.n_threads}|{self.device}"
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        """Everything, for the study's user attrs."""
        return {**asdict(self), "fingerprint": self.fingerprint()}


def resolve_hardware(spec: Hardware | dict[str, Any] | int | None) -> Hardware:
    """Build the hardware profile from the user's ``hardware=`` argument.

    Args:
        spec: None (this machine's CPUs), a thread count, a dict with ``n_threads``/``device``,
            or a :class:`Hardware`.

    Returns:
        The resolved profile with machine facts filled in.

    Raises:
        ConfigError: For a thread count below 1 or an unknown device.
    """
    if isinstance(spec, Hardware):
        base = spec
    elif spec is None:
        base = Hardware()
    elif isinstance(spec, int) and not isinstance(spec, bool):
        base = Hardware(n_threads=spec)
    elif isinstance(spec, dict):
        unknown = set(spec) - {"n_threads", "device"}
        if unknown:
            raise ConfigError(f"`hardware` has unknown keys {sorted(unknown)}; allowed: n_threads, device.")
        n_threads = spec.get("n_threads", 0)
        if isinstance(n_threads, bool) or not isinstance(n_threads, int):
            raise ConfigError(
                f"`hardware.n_threads` must be an int >= 1; got {n_threads!r} (a {type(n_threads).__name__}). "
                "Pass a thread count such as 2."
            )
        base = Hardware(n_threads=n_threads, device=str(spec.get("device", "cpu")))
    else:
        raise ConfigError(f"`hardware` must be None, a thread count or a dict; got {spec!r}.")
    cpus = _available_cpus()
    n_threads = base.n_threads or cpus
    if n_threads < 1:
        raise ConfigError(f"`hardware.n_threads` must be at least 1; got {n_threads}.")
    if base.device != "cpu":
        raise ConfigError(
            f"`hardware.device` must be 'cpu'; got {base.device!r}. No model family trains or serves on a GPU yet, "
            "so a GPU device would be ignored: leave `device` out."
        )
    facts = {
        "cpu_model": _cpu_model(),
        "cpus_available": cpus,
        "machine": platform.machine(),
        "system": platform.system(),
        "python": platform.python_version(),
        **_library_versions(),
    }
    return Hardware(n_threads=n_threads, device=base.device, facts=facts)
