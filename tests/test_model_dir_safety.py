"""A saved predictor never loses the user's files, and a hostile model directory gets a typed error.

Cases that crashed the process inside a native parser run in a fresh subprocess, so a regression shows
as a failed test, not a dead test run.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _predictors import fitted_predictor

import paretoml
from paretoml import ConfigError, DataError, Predictor
from paretoml.exceptions import ModelFileError, ParetoMLError
from paretoml.serving import COMPILE_STATS, compiler_available


def _predictor(family: str = "lightgbm") -> Predictor:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 4)), columns=list("abcd"))
    frame["label"] = np.where(frame["a"] + 0.3 * rng.normal(size=200) > 0, "yes", "no")
    params = {"n_estimators": 8, "num_leaves": 5} if family == "lightgbm" else {"n_estimators": 8, "max_depth": 3}
    return fitted_predictor(frame, family, params)[0]


@pytest.fixture(scope="module")
def lgb_pred() -> Predictor:
    return _predictor()


# ------------------------------------------------------------------------------------------ no data loss
def test_a_non_empty_folder_is_refused_and_overwrite_keeps_foreign_files(lgb_pred: Predictor, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=r"not empty.*overwrite=True.*--force"):
        lgb_pred.save(folder)
    with pytest.raises(ConfigError, match="holds no paretoml predictor"):
        lgb_pred.save(folder, overwrite=True)
    assert (folder / "notes.txt").read_text() == "mine" and sorted(os.listdir(folder)) == ["notes.txt"]
    model = tmp_path / "model"
    lgb_pred.save(model)
    (model / "notes.txt").write_text("mine")
    lgb_pred.save(model, overwrite=True)
    assert (model / "notes.txt").read_text() == "mine"
    assert sorted(os.listdir(model)) == ["manifest.json", "model.lgb.txt", "notes.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind
    paretoml.load(model)


def test_save_onto_a_file_or_dot_is_typed(lgb_pred: Predictor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "f.txt"
    file.write_text("keep")
    with pytest.raises(ConfigError, match="existing file"):
        lgb_pred.save(file)
    assert file.read_text() == "keep"
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="not empty"):
        lgb_pred.save(".")
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    lgb_pred.save(".")  # an empty current folder is a fine target
    assert (empty / "manifest.json").is_file()


def test_saved_files_are_world_readable(lgb_pred: Predictor, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        folder = lgb_pred.save(tmp_path / "m")
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o644}


def test_manifest_records_checksums_and_a_changed_file_is_refused(lgb_pred: Predictor, tmp_path: Path) -> None:
    folder = lgb_pred.save(tmp_path / "m")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["files"]) == {"model.lgb.txt"} and len(manifest["files"]["model.lgb.txt"]["sha256"]) == 64
    text = (folder / "model.lgb.txt").read_text()
    (folder / "model.lgb.txt").write_text(text.replace("shrinkage=1", "shrinkage=2", 1))
    with pytest.raises(ModelFileError, match=r"sha256 differs.*Re-export"):
        paretoml.load(folder)


# ------------------------------------------------------------------------------------------ native crashes
def _cuts(text: str) -> dict[str, str]:
    tree0 = text.index("Tree=0")
    return {
        "at Tree=0": text[: tree0 + len("Tree=0")],
        "mid-tree": text[: text.index("leaf_value=", tree0) + 20],
        "at 90%": text[: int(len(text) * 0.9)],
        "threshold=nan": text.replace("threshold=", "threshold=nan ", 1),
        "leaf_value=inf": text.replace("leaf_value=", "leaf_value=inf ", 1),
        "a NUL byte": text.replace("[feature_fraction", "[f\0ature_fraction", 1),  # LightGBM looped forever
        "a parameter without ': '": text.replace("[gpu_use_dp: ", "[gpu_use_dph ", 1),  # SIGSEGV
    }


def _load_in_subprocess(folder: Path) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys, paretoml\nfrom paretoml.exceptions import ParetoMLError\n"
        "try:\n    paretoml.load(sys.argv[1])\nexcept ParetoMLError as e:\n    print(type(e).__name__, e)\n"
        "    sys.exit(3)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, env=env,
                          timeout=120, check=False)  # fmt: skip


@pytest.mark.parametrize("with_checksum", [True, False])
def test_broken_lightgbm_files_give_a_typed_error_not_a_crash(
    lgb_pred: Predictor, tmp_path: Path, with_checksum: bool
) -> None:
    base = lgb_pred.save(tmp_path / "base")
    text = (base / "model.lgb.txt").read_text()
    for i, (case, broken) in enumerate(_cuts(text).items()):
        folder = lgb_pred.save(tmp_path / f"case{i}")
        (folder / "model.lgb.txt").write_text(broken)
        if not with_checksum:  # a manifest from before checksums: the structure checks alone must hold
            manifest = json.loads((folder / "manifest.json").read_text())
            del manifest["files"]
            (folder / "manifest.json").write_text(json.dumps(manifest))
        done = _load_in_subprocess(folder)
        assert done.returncode == 3, (case, done.returncode, done.stderr[-2000:])
        assert done.stdout.startswith("ModelFileError") and "Re-export" in done.stdout, (case, done.stdout)


# ------------------------------------------------------------------------------------------ manifest schema
@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda m: [m], "(top level)"),
        (lambda m: {**m, "classes": "noyes"}, "classes"),
        (lambda m: {**m, "family": "bogus"}, "family"),
        (lambda m: {k: v for k, v in m.items() if k != "model"}, "model"),
        (lambda m: {**m, "task": 5}, "task"),
        (lambda m: {**m, "task": "multiclass"}, "classes"),
        (lambda m: {**m, "model": {**m["model"], "runtime": "bogus-runtime"}}, "model.runtime"),
        (lambda m: {**m, "model": {**m["model"], "runtime": 7}}, "model.runtime"),
        (lambda m: {**m, "image_shape": [1, 10000, 10000]}, "image_shape"),
        (lambda m: {**m, "preprocessing": {"features": {"pixels": 100_000_000}}}, "preprocessing.features.pixels"),
        (lambda m: {**m, "preprocessing": {"features": 5}}, "preprocessing"),
        (lambda m: {**m, "files": {"model.lgb.txt": {"sha256": "x"}}}, "files"),
    ],
)
def test_malformed_manifests_name_the_field(lgb_pred: Predictor, tmp_path: Path, change: object, field: str) -> None:
    folder = lgb_pred.save(tmp_path / "m")
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps(change(manifest)))  # type: ignore[operator]
    with pytest.raises(ModelFileError, match=re.escape(f"`{field}`")):
        paretoml.load(folder)


def test_a_zip_bomb_and_too_many_members_are_refused(lgb_pred: Predictor, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", "{}")
        zf.writestr("model.lgb.txt", b"\0" * (64 << 20))
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(ModelFileError, match="zip bomb"):
        paretoml.load(bomb)
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(40):
            zf.writestr(f"f{i}", b"")
    with pytest.raises(ModelFileError, match="at most 16 files"):
        paretoml.load(many)


def test_a_model_disagreeing_with_its_manifest_is_refused(tmp_path: Path) -> None:
    pred = _predictor("xgboost")
    folder = pred.save(tmp_path / "m")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["preprocessing"]["features"] = manifest["preprocessing"]["features"][:3]
    manifest["preprocessing"].pop("input_columns", None)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="reads 4 features but the preprocessing makes 3"):
        paretoml.load(folder)


def test_an_unknown_runtime_argument_is_typed(lgb_pred: Predictor, tmp_path: Path) -> None:
    folder = lgb_pred.save(tmp_path / "m")
    with pytest.raises(ConfigError, match="`runtime`"):
        paretoml.load(folder, runtime="gcc-please")
    assert isinstance(paretoml.load(folder, runtime="native"), Predictor)


def test_load_errors_are_paretoml_errors(tmp_path: Path) -> None:
    assert issubclass(ModelFileError, DataError) and issubclass(ModelFileError, ParetoMLError)


# ------------------------------------------------------------------------------------------ runtimes and cache
needs_compiler = pytest.mark.skipif(compiler_available() is not None, reason="no C compiler / tl2cgen")


def _compiled_folder(pred: Predictor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PARETOML_CACHE", str(tmp_path / "cache"))
    folder = pred.save(tmp_path / "m")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["model"]["runtime"] = "tl2cgen"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@needs_compiler
def test_compiling_at_load_is_logged_and_refusable(
    lgb_pred: Predictor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    folder = _compiled_folder(lgb_pred, tmp_path, monkeypatch)
    before = COMPILE_STATS["compiled"]
    assert paretoml.load(folder, runtime="native").model.family == "lightgbm"
    assert COMPILE_STATS["compiled"] == before and not (tmp_path / "cache").exists()
    with caplog.at_level(logging.WARNING, logger="paretoml"):
        pred = paretoml.load(folder)
    assert pred.model.runtime == "tl2cgen"
    assert re.search(r"compiling the lightgbm model \(\d+ trees\).*at most 300 s.*runtime='native'", caplog.text)
    assert re.search(r"compiled the model in [\d.]+ s", caplog.text)
    with pytest.warns(UserWarning, match="ran past 0 s; serving the native model"):
        monkeypatch.setenv("PARETOML_CACHE", str(tmp_path / "cache2"))
        assert paretoml.load(folder, compile_timeout=0).model.family == "lightgbm"


@needs_compiler
def test_a_planted_library_in_the_cache_is_never_loaded(
    lgb_pred: Predictor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _compiled_folder(lgb_pred, tmp_path, monkeypatch)
    library = paretoml.load(folder).model.library
    marker = tmp_path / "pwned"
    source = tmp_path / "evil.c"
    source.write_text(f'#include <stdio.h>\n__attribute__((constructor)) static void f(void) {{ '
                      f'FILE *h = fopen("{marker}", "w"); if (h) fclose(h); }}\n')  # fmt: skip
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    again = paretoml.load(folder)  # the sidecar's sha256 no longer matches: rebuilt, not loaded
    assert not marker.exists() and again.model.runtime == "tl2cgen"
    library.with_name(library.name + ".sha256").unlink()
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    paretoml.load(folder)  # no sidecar at all: rebuilt, not loaded
    assert not marker.exists()


@needs_compiler
def test_a_cache_writable_by_others_is_not_used(
    lgb_pred: Predictor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _compiled_folder(lgb_pred, tmp_path, monkeypatch)
    shared = tmp_path / "cache" / "tl2cgen"
    shared.mkdir(parents=True)
    shared.chmod(0o777)
    with pytest.warns(UserWarning, match=r"not using the compiled-model cache.*writable by group or others"):
        pred = paretoml.load(folder)
    assert pred.model.runtime == "tl2cgen" and not any(shared.iterdir())
    assert shared not in pred.model.library.parents


def test_a_model_file_is_parsed_once_per_content_and_a_failed_check_is_not_remembered(
    lgb_pred: Predictor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paretoml.serving import _checks

    calls: list[int] = []
    real = _checks.MODEL_CHECKS["lightgbm"]
    monkeypatch.setitem(
        _checks.MODEL_CHECKS, "lightgbm", lambda data, entry: calls.append(len(data)) or real(data, entry)
    )
    monkeypatch.setattr(_checks, "_PASSED", {})
    lgb_pred.save(tmp_path / "p")
    for _ in range(3):
        Predictor.load(tmp_path / "p")
    assert len(calls) == 1  # the same bytes: checked once
    broken = next(iter(_cuts((tmp_path / "p" / "model.lgb.txt").read_text()).values()))
    folder = lgb_pred.save(tmp_path / "q")
    (folder / "model.lgb.txt").write_text(broken)
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["files"]  # no checksum: the structure check alone decides
    (folder / "manifest.json").write_text(json.dumps(manifest))
    for _ in range(2):  # other bytes are checked, and refused every time
        with pytest.raises(ModelFileError, match="not a valid lightgbm model file"):
            Predictor.load(folder)
    assert len(calls) == 3
