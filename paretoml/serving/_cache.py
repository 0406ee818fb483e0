"""The verified cache of compiled models, shared by the runtimes that compile (tl2cgen, lleaves).

Artefacts are kept by content hash under ``$PARETOML_CACHE/<runtime>`` (default ``~/.cache/paretoml``),
so an identical model is compiled once. An artefact is loaded only when paretoml built it: each build
writes a sidecar ``<name>.sha256`` (atomically, after the artefact) holding the artefact's sha256, which
is checked before a native loader sees it; one without a matching sidecar is rebuilt. A cache folder
that another user could write to (not owned by this user, or group/other-writable) is not used:
artefacts are then built into a private temporary folder, with a warning.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import warnings
from pathlib import Path

__all__ = ["artefact_dir", "cache_dir", "publish", "verified"]


def cache_dir(runtime: str = "tl2cgen") -> Path:
    """Where the compiled artefacts of ``runtime`` are kept (``$PARETOML_CACHE/<runtime>``)."""
    return Path(os.environ.get("PARETOML_CACHE", Path.home() / ".cache" / "paretoml")) / runtime


def _unsafe(folder: Path) -> str | None:
    """Why another user could plant an artefact in ``folder`` (or its parent), or None."""
    for path in (folder.parent, folder):
        try:
            st = path.lstat()
        except FileNotFoundError:
            continue
        if not os.path.isdir(path) or path.is_symlink():
            return f"{path} is not a folder"
        if hasattr(os, "getuid") and st.st_uid != os.getuid():
            return f"{path} is owned by another user (uid {st.st_uid})"
        if st.st_mode & 0o022:
            return f"{path} is writable by group or others (mode {oct(st.st_mode & 0o777)})"
    return None


@functools.cache
def _private_dir(runtime: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"paretoml-{runtime}-"))


def artefact_dir(runtime: str = "tl2cgen") -> Path:
    """:func:`cache_dir`, created private (0700) if missing; a private temporary folder, with a warning,
    when the cache folder is not safe to load artefacts from."""
    folder = cache_dir(runtime)
    reason = _unsafe(folder)
    if reason is None:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            reason = _unsafe(folder)
        except OSError as exc:
            reason = f"it cannot be created ({exc})"
    if reason is None:
        return folder
    warnings.warn(
        f"not using the compiled-model cache {folder}: {reason}, so another user could plant a library "
        f"there. Building into {_private_dir(runtime)} instead; fix with `chmod go-w` on it or set PARETOML_CACHE.",
        stacklevel=3,
    )
    return _private_dir(runtime)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verified(artefact: Path, data: bytes | None = None) -> bool:
    """Whether ``artefact`` is one paretoml built: a regular file whose sha256 its sidecar records.

    Args:
        artefact: The file.
        data: Its bytes as already read (checked instead of reading it again, so that the bytes checked
            are the bytes used).
    """
    sidecar = artefact.with_name(artefact.name + ".sha256")
    try:
        if artefact.is_symlink() or not artefact.is_file() or sidecar.is_symlink():
            return False
        digest = _digest(artefact) if data is None else hashlib.sha256(data).hexdigest()
        return sidecar.read_text().strip() == digest
    except OSError:
        return False


def publish(built: Path, target: Path) -> None:
    """Move ``built`` (a fresh artefact in a temporary folder beside ``target``) to ``target``, then write
    the sidecar that vouches for it; each step is atomic, so concurrent workers see whole files or none."""
    digest = _digest(built)
    os.replace(built, target)
    sidecar = built.with_name(built.name + ".sha256.partial")
    sidecar.write_text(digest)
    os.replace(sidecar, target.with_name(target.name + ".sha256"))
