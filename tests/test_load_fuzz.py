"""Fuzz ``paretoml.load`` over mutated manifests and model files.

Each batch of mutated predictor folders is loaded in one fresh subprocess (a native parser could kill
the process), which reports per folder: a correct load, or the name of a typed ``ParetoMLError``. The
test asserts the subprocess never dies, nothing else is raised, the compiler (a stand-in that logs its
calls and fails) runs only for folders whose manifest names a known compiled runtime, and no library is
loaded from the compile cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

hypothesis = pytest.importorskip("hypothesis")
from _predictors import fitted_predictor  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from paretoml import Predictor  # noqa: E402

_CHILD = r"""
import json, sys, ctypes, faulthandler
faulthandler.enable()
from pathlib import Path
loaded = []
_cdll = ctypes.CDLL.__init__
def _spy(self, name, *a, **k):
    loaded.append(str(name))
    return _cdll(self, name, *a, **k)
ctypes.CDLL.__init__ = _spy
import paretoml
from paretoml.serving import COMPILE_STATS
from paretoml.exceptions import ParetoMLError
out = []
for folder in sys.argv[1:]:
    print("loading", folder, file=sys.stderr, flush=True)
    try:
        pred = paretoml.load(folder)
        pred.predict(pred.feature_names_in_.size and [[0.0] * pred.n_features_in_])
        out.append("ok")
    except ParetoMLError as e:
        out.append(type(e).__name__)
    except Exception as e:
        out.append("RAW " + type(e).__name__ + ": " + str(e)[:200])
print(json.dumps({"results": out, "compiled": COMPILE_STATS["compiled"],
                  "cache_libraries": [n for n in loaded if n.startswith(sys.argv[1].rsplit("/", 2)[0])]}))
"""


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(160, 3)), columns=list("abc"))
    frame["label"] = np.where(frame["a"] > 0, "yes", "no")
    return frame


def _predictor(family: str) -> Predictor:
    params = {"n_estimators": 4, "num_leaves": 4} if family == "lightgbm" else {"n_estimators": 4, "max_depth": 2}
    return fitted_predictor(_frame(), family, params)[0]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fuzz-base")
    return {f: _predictor(f).save(root / f) for f in ("lightgbm", "xgboost")}


_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=True), st.text(max_size=12),
    st.lists(st.integers(-3, 100_000_000), max_size=4), st.just("tl2cgen"), st.just("bogus-runtime"),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=3),
)  # fmt: skip
_PATHS = st.sampled_from([
    ("task",), ("classes",), ("family",), ("model",), ("model", "file"), ("model", "runtime"), ("image_shape",),
    ("preprocessing",), ("preprocessing", "features"), ("files",), ("info",), ("version",), ("format",),
])  # fmt: skip
_MUTATION = st.one_of(
    st.tuples(st.just("manifest"), st.just(("model", "runtime")),
              st.sampled_from(["tl2cgen", "tl2cgen-q", "native", "bogus-runtime", 7, None, ["tl2cgen"]])),
    st.tuples(st.just("manifest"), _PATHS, _VALUES),
    st.tuples(st.just("truncate"), st.floats(0.0, 1.0), st.booleans()),
    st.tuples(st.just("flip"), st.integers(0, 10**9), st.integers(1, 255), st.booleans()),
    st.tuples(st.just("token"), st.sampled_from(["nan", "inf", "-1", "999999999", "0", "1e400", "\0"]),
              st.integers(0, 10**6), st.booleans()),
)  # fmt: skip


def _apply(folder: Path, mutation: tuple, family: str) -> None:
    model = folder / json.loads((folder / "manifest.json").read_text())["model"]["file"]
    kind = mutation[0]
    if kind == "manifest":
        manifest = json.loads((folder / "manifest.json").read_text())
        *parents, last = mutation[1]
        node = manifest
        for key in parents:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node[last] = mutation[2]
        (folder / "manifest.json").write_text(json.dumps(manifest))
        return
    data = model.read_bytes()
    if kind == "truncate":
        data = data[: int(len(data) * mutation[1])]
    elif kind == "flip":
        pos = mutation[1] % len(data)
        data = data[:pos] + bytes([data[pos] ^ mutation[2]]) + data[pos + 1 :]
    elif family == "lightgbm":  # replace one number in the text by a hostile token
        words = data.decode().split(" ")
        i = mutation[2] % len(words)
        words[i] = mutation[1] + ("\n" if words[i].endswith("\n") else "")
        data = " ".join(words).encode()
    model.write_bytes(data)
    if mutation[-1]:  # keep the manifest's checksums in step, so the structure checks are what is tested
        manifest = json.loads((folder / "manifest.json").read_text())
        if isinstance(manifest.get("files"), dict):
            import hashlib

            manifest["files"][model.name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
            (folder / "manifest.json").write_text(json.dumps(manifest))


def _fake_compiler(root: Path) -> tuple[Path, Path]:
    log = root / "cc.log"
    cc = root / "fake-cc"
    cc.write_text(f"#!/bin/sh\necho called >> {log}\nexit 1\n")
    cc.chmod(0o755)
    return cc, log


def _known_compiled_runtime(folder: Path) -> bool:
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        return manifest["model"]["runtime"] in ("tl2cgen", "tl2cgen-q")
    except (ValueError, KeyError, TypeError):
        return False


def _run_batch(folders: list[Path], cache: Path, cc: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "PARETOML_CACHE": str(cache),
           "CC": str(cc)}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", _CHILD, *map(str, folders)], capture_output=True, text=True,
                          env=env, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, f"the loading process died ({done.returncode}): {done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("family", ["lightgbm", "xgboost"])
@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(_MUTATION, min_size=25, max_size=25))
def test_mutated_predictors_load_or_fail_typed(
    saved: dict[str, Path], family: str, batch: list, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import shutil

    root = tmp_path_factory.mktemp("fuzz")
    folders = []
    for i, mutation in enumerate(batch):
        folder = root / f"m{i}"
        shutil.copytree(saved[family], folder)
        _apply(folder, mutation, family)
        folders.append(folder)
    cc, log = _fake_compiler(root)
    report = _run_batch(folders, root / "cache", cc)
    raw = [r for r in report["results"] if r.startswith("RAW")]
    assert not raw, list(zip(batch, report["results"], strict=True))
    compiles = len(log.read_text().splitlines()) if log.exists() else 0
    assert compiles <= sum(map(_known_compiled_runtime, folders))
    assert report["compiled"] == 0 and report["cache_libraries"] == []
