"""The hardware a study measures on: training threads, the serving profile, device and a machine fingerprint.

The serving profile (``serving_threads``, ``batch_size``) is how the chosen model will be served:
latency objectives are timed under it. Defaults: one thread and one row per request, the common case
of an online model server (one request per worker thread; the training threads stay separate).
"""

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
        n_threads: Threads for training (default: the CPUs this process may use).
        device: ``"cpu"``; no family trains or serves on a GPU yet, so other devices are refused.
        facts: Machine description stored with the study.
        serving_threads: Threads a served model predicts with (latency is timed with them).
        batch_size: Rows per request when serving (``batch_latency_ms`` is timed on requests of this size).
    """

    n_threads: int = 0
    device: str = "cpu"
    facts: dict[str, Any] = field(default_factory=dict)
    serving_threads: int = 1
    batch_size: int = 1

    def fingerprint(self) -> str:
        """A short hash of the machine facts and the serving configuration."""
        text = repr(sorted(self.facts.items())) + f"|{self.n_threads}|{self.device}"
        text += f"|{self.serving_threads}|{self.batch_size}"
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def serving(self) -> dict[str, int]:
        """The serving profile, as stored with the study and shown in the model card."""
        return {"serving_threads": self.serving_threads, "batch_size": self.batch_size}

    def to_dict(self) -> dict[str, Any]:
        """Everything, for the study's user attrs."""
        return {**asdict(self), "fingerprint": self.fingerprint()}


def resolve_hardware(spec: Hardware | dict[str, Any] | int | None) -> Hardware:
    """Build the hardware profile from the user's ``hardware=`` argument.

    Args:
        spec: None (this machine's CPUs), a thread count, a dict with ``n_threads``/``device``/
            ``serving_threads``/``batch_size``, or a :class:`Hardware`.

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
        allowed = ("n_threads", "device", "serving_threads", "batch_size")
        unknown = set(spec) - set(allowed)
        if unknown:
            raise ConfigError(f"`hardware` has unknown keys {sorted(unknown)}; allowed: {', '.join(allowed)}.")
        counts = {"n_threads": 0, "serving_threads": 1, "batch_size": 1}
        for key in counts:
            value = spec.get(key, counts[key])
            if isinstance(value, bool) or not isinstance(value, int) or (key != "n_threads" and value < 1):
                raise ConfigError(
                    f"`hardware.{key}` must be an int >= 1; got {value!r} (a {type(value).__name__}). "
                    f"Pass a count such as {2 if key == 'n_threads' else 1}."
                )
            counts[key] = value
        base = Hardware(
            n_threads=counts["n_threads"],
            device=str(spec.get("device", "cpu")),
            serving_threads=counts["serving_threads"],
            batch_size=counts["batch_size"],
        )
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
    return Hardware(n_threads=n_threads, device=base.device, facts=facts, serving_threads=base.serving_threads,
                    batch_size=base.batch_size)  # fmt: skip
