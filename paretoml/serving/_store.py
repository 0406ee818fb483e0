"""Writing a predictor directory without losing anyone's files, and reading a zipped one within bounds.

Saving into a new or empty folder writes there; a non-empty folder is refused unless ``overwrite`` is
given, and then only a previous paretoml predictor (recognised by its manifest) is replaced: the files
its manifest names, never anything else in the folder. Files are written through a staging folder and
moved into place one by one, the manifest last, so a reader sees the old predictor or the new one (or,
between the two, a checksum mismatch), never a half-written file. Modes follow the umask (0644 files
and 0755 folders under the usual 022), so a server running as another user can read them.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from paretoml.exceptions import ConfigError, DataError, ModelFileError, ParetoMLError
from paretoml.serving._manifest import FORMAT, MANIFEST, VERSION, file_digest, json_scalar

__all__ = ["MAX_MODEL_BYTES", "unpacked", "write_predictor", "write_zip"]

#: The largest model file or unpacked archive paretoml reads (4 GiB).
MAX_MODEL_BYTES = 4 << 30
_MAX_MEMBERS = 16
_MAX_RATIO = 100  # a member may unpack to at most 100 x its compressed bytes (zip bombs reach 1000 x)


def _previous_files(target: Path) -> list[str] | None:
    """The files a previous paretoml predictor in ``target`` consists of, or None if it holds none.

    Only files whose bytes still match the sha256 its manifest recorded count (a manifest naming
    someone else's file does not make paretoml delete it); the manifest itself always counts.
    """
    try:
        manifest = json.loads((target / MANIFEST).read_bytes())
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            return None
        recorded = dict(manifest.get("files") or {})
    except (OSError, ValueError, TypeError):
        return None
    ours = [MANIFEST]
    for name, digest in recorded.items():
        path = target / str(name)
        with suppress(OSError, TypeError, AttributeError):
            plain = Path(name).name == name and path.is_file() and not path.is_symlink()
            if plain and file_digest(path.read_bytes())["sha256"] == digest.get("sha256"):
                ours.append(name)
    return ours


def _check_target(target: Path, overwrite: bool) -> list[str]:
    """The files of ``target`` that the save replaces; raises when saving there could lose files."""
    if target.exists() and not target.is_dir():
        raise ConfigError(f"cannot save a predictor to {target}: it is an existing file, not a folder. "
                          "Pass a new or empty folder.")  # fmt: skip
    if not target.exists() or not any(target.iterdir()):
        return []
    previous = _previous_files(target)
    if not overwrite:
        what = "a previous paretoml predictor" if previous else "files paretoml did not write"
        raise ConfigError(
            f"cannot save a predictor to {target}: the folder is not empty (it holds {what}). Pass a new or "
            "empty folder, or `overwrite=True` (CLI: --force) to replace a previous paretoml predictor there."
        )
    if previous is None:
        raise ConfigError(
            f"cannot overwrite {target}: it holds no paretoml predictor (no paretoml {MANIFEST}), and "
            "paretoml only replaces its own files. Pass a new or empty folder."
        )
    return previous


def write_predictor(path: Path, fill: Callable[[Path], dict[str, Any]], *, overwrite: bool = False) -> Path:
    """Write predictor folder ``path``: ``fill(staging)`` writes the model files and returns the manifest
    (without ``format``, ``version`` and ``files``, which are added here).

    Raises:
        ConfigError: When ``path`` is an existing file, or a non-empty folder without ``overwrite``, or
            (with ``overwrite``) a folder that holds no previous paretoml predictor.
    """
    target = Path(path).resolve()
    if target.parent == target:
        raise ConfigError(f"cannot save a predictor to the root folder {target}; pass a new or empty folder.")
    previous = _check_target(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
    staging.mkdir()  # mode 0777 & ~umask, unlike mkdtemp's 0700
    try:
        manifest = fill(staging)
        names = sorted(p.name for p in staging.iterdir() if p.is_file())
        files = {n: file_digest((staging / n).read_bytes()) for n in names}
        manifest = {"format": FORMAT, "version": VERSION, **manifest, "files": files}
        (staging / MANIFEST).write_text(json.dumps(manifest, separators=(",", ":"), default=json_scalar))
        if not target.exists():
            staging.rename(target)  # a new folder appears whole
            return target
        for name in [*names, MANIFEST]:  # the manifest last: it describes the files already in place
            os.replace(staging / name, target / name)
        for name in set(previous) - {*names, MANIFEST}:
            with suppress(FileNotFoundError):
                (target / name).unlink()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def write_zip(folder: Path, file: str | Path) -> dict[str, int]:
    """Zip the files of a saved predictor ``folder`` into ``file``; their bytes by file name."""
    files = sorted(p for p in folder.iterdir() if p.is_file())
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in files:
            zf.write(p, arcname=p.name)
    return {p.name: p.stat().st_size for p in files}


def _check_members(source: Path, zf: zipfile.ZipFile) -> None:
    infos = zf.infolist()
    if len(infos) > _MAX_MEMBERS:
        raise ModelFileError(f"{source}: a predictor archive holds at most {_MAX_MEMBERS} files; this one "
                             f"holds {len(infos)}. Re-export the model.")  # fmt: skip
    total = 0
    for info in infos:
        name = info.filename
        if Path(name).name != name or name.startswith(".") or info.is_dir():
            raise ModelFileError(f"{source}: unexpected entry {name!r} in predictor archive.")
        total += info.file_size
        if info.file_size > (1 << 20) and info.file_size > _MAX_RATIO * max(info.compress_size, 1):
            raise ModelFileError(
                f"{source}: archive entry {name!r} would unpack to {info.file_size} bytes from "
                f"{info.compress_size} (more than {_MAX_RATIO} x: a zip bomb?). Re-export the model."
            )
    if total > MAX_MODEL_BYTES:
        raise ModelFileError(f"{source}: the archive would unpack to {total} bytes, more than the limit of "
                             f"{MAX_MODEL_BYTES}. Re-export the model.")  # fmt: skip


@contextmanager
def unpacked(source: Path) -> Iterator[Path]:
    """The predictor directory of ``source``: itself, or a zip archive's plain files extracted.

    Raises:
        ModelFileError: For an archive with too many entries, entries that are not plain file names, or
            entries that would unpack past the size bounds.
    """
    if not (source.is_file() and zipfile.is_zipfile(source)):
        yield source
        return
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with zipfile.ZipFile(source) as zf:
                _check_members(source, zf)
                zf.extractall(tmp)  # zipfile stops each member at its declared size
        except ParetoMLError:
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            raise DataError(f"{source}: the predictor archive cannot be read ({exc}). Re-export the model.") from None
        yield Path(tmp)
