"""Structure checks run on a model file before a native library parses it.

LightGBM's text parser and XGBoost's UBJSON reader are C++ code that trusts its input: a truncated
LightGBM file or a ``threshold=nan`` kills the process (SIGABRT, SIGSEGV), and a child index that
points back up a tree loops forever at predict time. Each check here reads the file in Python, cheaply,
and raises :class:`~paretoml.exceptions.ModelFileError` unless the file is a well-formed model whose
counts agree with each other and with the manifest (feature count, outputs). Checks are registered per
family (:func:`register_model_check`); a family without one gets the manifest's checksum only.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paretoml._imports import require
from paretoml.exceptions import ModelFileError
from paretoml.serving._ubjson import UBJSONError, parse_ubjson

__all__ = ["MODEL_CHECKS", "ModelFacts", "check_model_file", "register_model_check"]

_FIX = "Re-export the model with paretoml (`Predictor.save` or `paretoml export`) from its study."


@dataclass(frozen=True)
class ModelFacts:
    """What a model file says about itself, compared against the manifest.

    Attributes:
        n_features: Input columns the model reads.
        n_outputs: Raw outputs per row.
        per_class: Whether there is one output per class (a CNN); else one for binary and regression
            and one per class for multiclass (boosted trees).
        objective: The training objective's name, when the file records one.
    """

    n_features: int
    n_outputs: int
    per_class: bool = False
    objective: str | None = None

    def mismatch(self, task: str, n_classes: int, width: int) -> str | None:
        """How the model disagrees with the manifest's task, classes and feature count, or None."""
        if self.n_features != width:
            return f"the model reads {self.n_features} features but the preprocessing makes {width}"
        wanted = n_classes if self.per_class or task == "multiclass" else 1
        if self.n_outputs != wanted:
            return f"the model has {self.n_outputs} outputs where task {task!r} with {n_classes} classes needs {wanted}"
        return None


#: A check reads the file's bytes and returns its facts, raising ``ValueError`` with the reason.
ModelCheck = Callable[[bytes, dict], ModelFacts]
MODEL_CHECKS: dict[str, ModelCheck] = {}


def register_model_check(family: str, check: ModelCheck) -> None:
    """Run ``check`` on every model file of ``family`` before the family's ``load`` sees it."""
    MODEL_CHECKS[family] = check


_PASSED: dict[tuple[str, bytes, str], ModelFacts] = {}  # checks passed in this process, by the bytes' SHA-256
_PASSED_MAX = 64


def check_model_file(family: str, file: Path, data: bytes, entry: dict) -> ModelFacts | None:
    """The facts of model ``file`` of ``family`` (its bytes ``data``), or None without a registered check.

    A study loads each trial's predictor several times (to time it, to measure its memory); bytes that
    passed the check in this process are not parsed again: the facts of the last 64 passed files are
    kept by the SHA-256 of the bytes and the manifest entry, so only identical input skips the parse.
    A failed check is never remembered.

    Raises:
        ModelFileError: Naming the file, what is wrong and the fix.
    """
    check = MODEL_CHECKS.get(family)
    if check is None:
        return None
    key = (family, hashlib.sha256(data).digest(), json.dumps(entry, sort_keys=True, default=str))
    if key in _PASSED:
        return _PASSED[key]
    try:
        facts = check(data, entry)
    except (ValueError, UBJSONError, UnicodeDecodeError, OverflowError, RecursionError) as exc:
        raise ModelFileError(f"{file} is not a valid {family} model file ({exc}). {_FIX}") from None
    if len(_PASSED) >= _PASSED_MAX:
        del _PASSED[next(iter(_PASSED))]
    _PASSED[key] = facts
    return facts


# ---------------------------------------------------------------------------------------------- LightGBM
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TAIL = re.compile(
    r"\n\nfeature_importances:\n(?:[^\s=]+=\d+\n)*\nparameters:\n(?:\[[A-Za-z0-9_]+: [^\n]*\]\n)*"
    r"\nend of parameters\n\npandas_categorical:[^\n]*\n?"
)


def _fields(block: str) -> dict[str, str]:
    out = {}
    for line in block.split("\n"):
        key, sep, value = line.partition("=")
        if sep:
            if key in out:
                raise ValueError(f"key {key!r} appears twice")
            out[key] = value
    return out


def _ints(fields: dict[str, str], key: str, n: int, where: str) -> list[int]:
    values = _numbers(fields, key, n, where)
    if any(v != int(v) for v in values):
        raise ValueError(f"{where}: {key} must hold integers")
    return [int(v) for v in values]


def _numbers(fields: dict[str, str], key: str, n: int, where: str) -> list[float]:
    if key not in fields:
        raise ValueError(f"{where}: {key} is missing")
    parts = fields[key].split()
    if len(parts) != n:
        raise ValueError(f"{where}: {key} has {len(parts)} values where {n} are needed")
    values = [float(p) for p in parts]
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{where}: {key} holds a non-finite number (nan or inf)")
    return values


def _one_int(fields: dict[str, str], key: str, where: str, low: int, high: int) -> int:
    (value,) = _ints(fields, key, 1, where)
    if not low <= value <= high:
        raise ValueError(f"{where}: {key}={value} is outside [{low}, {high}]")
    return value


def _check_children(left: list[int], right: list[int], n_leaves: int, where: str) -> None:
    """Children must form one tree rooted at node 0: every node reached exactly once, no cycle."""
    n_internal = n_leaves - 1
    seen_internal, seen_leaf = [False] * n_internal, [False] * n_leaves
    stack = [0]
    seen_internal[0] = True
    while stack:
        node = stack.pop()
        for child in (left[node], right[node]):
            if child >= 0:
                if child >= n_internal or seen_internal[child]:
                    raise ValueError(f"{where}: child {child} of node {node} is out of range or reached twice")
                seen_internal[child] = True
                stack.append(child)
            else:
                leaf = ~child
                if leaf >= n_leaves or seen_leaf[leaf]:
                    raise ValueError(f"{where}: leaf {leaf} of node {node} is out of range or reached twice")
                seen_leaf[leaf] = True
    if not (all(seen_internal) and all(seen_leaf)):
        raise ValueError(f"{where}: some nodes are not reachable from the root")


def _check_lightgbm_tree(block: str, where: str, n_features: int) -> None:
    fields = _fields(block)
    n_leaves = _one_int(fields, "num_leaves", where, 1, 1 << 30)
    n_cat = _one_int(fields, "num_cat", where, 0, 1 << 30)
    _numbers(fields, "leaf_value", n_leaves, where)
    _numbers(fields, "shrinkage", 1, where)
    if fields.get("is_linear", "0") != "0":
        raise ValueError(f"{where}: linear trees are not supported")
    if n_leaves == 1:
        return
    n = n_leaves - 1
    _numbers(fields, "split_gain", n, where)
    thresholds = _numbers(fields, "threshold", n, where)
    features = _ints(fields, "split_feature", n, where)
    if any(not 0 <= f < n_features for f in features):
        raise ValueError(f"{where}: split_feature refers to a feature outside [0, {n_features})")
    kinds = _ints(fields, "decision_type", n, where)
    if any(not 0 <= k < 16 for k in kinds):
        raise ValueError(f"{where}: decision_type is outside [0, 16)")
    if any(k & 1 for k in kinds):
        bounds = _ints(fields, "cat_boundaries", n_cat + 1, where)
        if bounds[0] != 0 or any(b > a for b, a in itertools.pairwise(bounds)):
            raise ValueError(f"{where}: cat_boundaries must start at 0 and not decrease")
        _ints(fields, "cat_threshold", bounds[-1], where)
        if any(k & 1 and not (t == int(t) and 0 <= t < n_cat) for k, t in zip(kinds, thresholds, strict=True)):
            raise ValueError(f"{where}: a categorical split refers to a category set outside [0, {n_cat})")
    elif n_cat:
        raise ValueError(f"{where}: num_cat={n_cat} without a categorical split")
    _check_children(_ints(fields, "left_child", n, where), _ints(fields, "right_child", n, where), n_leaves, where)


def check_lightgbm_text(data: bytes, entry: dict) -> ModelFacts:
    """Facts of a LightGBM text model, after checking every count and number LightGBM's parser trusts."""
    text = data.decode("utf-8")
    if _CONTROL.search(text):  # LightGBM reads C strings: a NUL byte makes its parser loop forever
        raise ValueError("it holds a NUL or another control character")
    if not text.startswith("tree\n"):
        raise ValueError("it does not start with LightGBM's 'tree' header")
    head, sep, rest = text.partition("\nTree=")
    trees_text, sep_end, tail = rest.partition("end of trees")
    if not sep or not sep_end:
        raise ValueError("it has no trees or no 'end of trees' line (a truncated file?)")
    if not _TAIL.fullmatch(tail):  # LightGBM's parameter parser crashes on a line not shaped `[key: value]`
        raise ValueError("its feature_importances / parameters sections are malformed or incomplete (truncated?)")
    header = _fields(head)
    n_class = _one_int(header, "num_class", "header", 1, 1 << 20)
    per_iteration = _one_int(header, "num_tree_per_iteration", "header", 1, 1 << 20)
    n_features = _one_int(header, "max_feature_idx", "header", 0, 1 << 30) + 1
    if len(header.get("feature_names", "").split()) != n_features:
        raise ValueError("header: feature_names does not hold max_feature_idx + 1 names")
    blocks = ("Tree=" + trees_text).split("\n\n\nTree=")
    blocks = [blocks[0][len("Tree=") :], *blocks[1:]]
    sizes = [int(s) for s in header.get("tree_sizes", "").split()]
    if len(sizes) != len(blocks) or len(blocks) % per_iteration:
        raise ValueError(f"header: tree_sizes lists {len(sizes)} trees, the file holds {len(blocks)}")
    for i, block in enumerate(blocks):
        number, _, body = block.partition("\n")
        expected = len(f"Tree={block}\n\n\n") if i < len(blocks) - 1 else len(f"Tree={block}")
        if number != str(i) or sizes[i] != expected:
            raise ValueError(f"tree {i}: its number or its size ({expected} bytes, header says {sizes[i]}) is wrong")
        _check_lightgbm_tree(body, f"tree {i}", n_features)
    objective = header.get("objective", "").strip() or None
    return ModelFacts(n_features=n_features, n_outputs=n_class, objective=objective)


# ---------------------------------------------------------------------------------------------- XGBoost
_XGB_NODE_ARRAYS = ("left_children", "right_children", "parents", "split_indices", "split_conditions",
                    "default_left", "split_type", "base_weights")  # fmt: skip


def _param(obj: dict, key: str, where: str, low: int, high: int) -> int:
    try:
        value = int(str(obj[key]))
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{where}: {key} is missing or not an integer") from None
    if not low <= value <= high:
        raise ValueError(f"{where}: {key}={value} is outside [{low}, {high}]")
    return value


def _check_xgboost_categories(tree: dict, where: str, nodes: np.ndarray) -> None:
    """Categorical splits: one (segment, size) per categorical node, each inside ``categories``."""
    arrays = {k: np.asarray(tree.get(k, [])) for k in ("categories", "categories_nodes", "categories_segments",
                                                       "categories_sizes")}  # fmt: skip
    if any(a.ndim != 1 or (a.size and a.dtype.kind not in "iu") for a in arrays.values()):
        raise ValueError(f"{where}: the categories arrays must be integer lists")
    segments, sizes = arrays["categories_segments"].astype(np.int64), arrays["categories_sizes"].astype(np.int64)
    if not np.array_equal(np.sort(arrays["categories_nodes"]), nodes) or not len(segments) == len(sizes) == len(nodes):
        raise ValueError(f"{where}: categories_nodes does not list the categorical splits")
    if ((segments < 0) | (sizes < 0) | (segments + sizes > len(arrays["categories"]))).any():
        raise ValueError(f"{where}: a categories segment runs past the categories stored")
    if ((arrays["categories"] < 0) | (arrays["categories"] >= 1 << 24)).any():
        raise ValueError(f"{where}: categories must lie in [0, 2**24)")


def _check_xgboost_tree(tree: object, where: str, n_features: int) -> None:
    if not isinstance(tree, dict) or not isinstance(tree.get("tree_param"), dict):
        raise ValueError(f"{where} is not a tree object")
    n_nodes = _param(tree["tree_param"], "num_nodes", where, 1, 1 << 30)
    if _param(tree["tree_param"], "size_leaf_vector", where, 0, 1) > 1:
        raise ValueError(f"{where}: vector leaves are not supported")
    arrays = {}
    for key in _XGB_NODE_ARRAYS:
        arr = np.asarray(tree.get(key))
        if arr.shape != (n_nodes,) or arr.dtype.kind not in "biuf":
            raise ValueError(f"{where}: {key} must hold {n_nodes} numbers")
        arrays[key] = arr
    categorical = arrays["split_type"] == 1
    if ((arrays["split_type"] != 0) & ~categorical).any():
        raise ValueError(f"{where}: split_type must be 0 (numerical) or 1 (categorical)")
    if not (np.isfinite(arrays["split_conditions"][~categorical]).all() and np.isfinite(arrays["base_weights"]).all()):
        raise ValueError(f"{where}: split_conditions or base_weights hold nan or inf")
    _check_xgboost_categories(tree, where, np.flatnonzero(categorical))
    left, right = arrays["left_children"].astype(np.int64), arrays["right_children"].astype(np.int64)
    internal = left != -1
    if ((left == -1) != (right == -1)).any():
        raise ValueError(f"{where}: a node has one child")
    features = arrays["split_indices"][internal]
    if ((features < 0) | (features >= n_features)).any():
        raise ValueError(f"{where}: split_indices refers to a feature outside [0, {n_features})")
    children = np.concatenate([left[internal], right[internal]])
    index = np.arange(n_nodes)
    # XGBoost appends children after their parent: every child is a later node, reached exactly once
    if ((children <= np.concatenate([index[internal]] * 2)) | (children >= n_nodes)).any():
        raise ValueError(f"{where}: a child index is out of range or points back up the tree")
    if len(np.unique(children)) != n_nodes - 1:
        raise ValueError(f"{where}: a node is reached twice or not at all")


def check_xgboost_ubjson(data: bytes, entry: dict) -> ModelFacts:
    """Facts of an XGBoost UBJSON model, after checking its containers' sizes and every tree."""
    root = parse_ubjson(data)
    try:
        learner = root["learner"]
        params = learner["learner_model_param"]
        model = learner["gradient_booster"]["model"]
        trees = model["trees"]
        tree_info = np.asarray(model["tree_info"])
    except (KeyError, TypeError):
        raise ValueError("it lacks the learner / gradient_booster / model / trees structure") from None
    if learner["gradient_booster"].get("name") != "gbtree" or not isinstance(trees, list):
        raise ValueError("only a 'gbtree' booster is supported")
    n_features = _param(params, "num_feature", "learner_model_param", 1, 1 << 30)
    n_class = _param(params, "num_class", "learner_model_param", 0, 1 << 20)
    if _param(model["gbtree_model_param"], "num_trees", "gbtree_model_param", 0, 1 << 30) != len(trees):
        raise ValueError("gbtree_model_param.num_trees does not match the trees stored")
    if tree_info.shape != (len(trees),) or ((tree_info < 0) | (tree_info >= max(1, n_class))).any():
        raise ValueError("tree_info does not give one valid output group per tree")
    for i, tree in enumerate(trees):
        _check_xgboost_tree(tree, f"tree {i}", n_features)
    objective = learner.get("objective", {}).get("name") if isinstance(learner.get("objective"), dict) else None
    return ModelFacts(n_features=n_features, n_outputs=max(1, n_class), objective=str(objective or "") or None)


# ---------------------------------------------------------------------------------------------- CNN
_SAFETENSORS_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
                      "BOOL": 1}  # fmt: skip


def _safetensors_shapes(data: bytes) -> dict[str, tuple[int, ...]]:
    """Tensor shapes from a safetensors header, after checking every offset against the file's bytes."""
    if len(data) < 8:
        raise ValueError("it is shorter than a safetensors header")
    n = int.from_bytes(data[:8], "little")
    if n > len(data) - 8 or n > (64 << 20):
        raise ValueError(f"its header length {n} runs past the end of the file")
    header = json.loads(data[8 : 8 + n])
    if not isinstance(header, dict):
        raise ValueError("its header is not a JSON object")
    header.pop("__metadata__", None)
    body, spans, shapes = len(data) - 8 - n, [], {}
    for name, t in header.items():
        shape, offsets = (t.get("shape"), t.get("data_offsets")) if isinstance(t, dict) else (None, None)
        size = _SAFETENSORS_BYTES.get(str(t.get("dtype")) if isinstance(t, dict) else "")
        if size is None or not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise ValueError(f"tensor {name!r} has no valid dtype and shape")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)):
            raise ValueError(f"tensor {name!r} has no valid data_offsets")
        if not 0 <= offsets[0] <= offsets[1] <= body or offsets[1] - offsets[0] != size * math.prod(shape):
            raise ValueError(f"tensor {name!r} does not fit its bytes")
        spans.append(tuple(offsets))
        shapes[name] = tuple(shape)
    ends = [0] + [e for _, e in sorted(spans)]
    if [b for b, _ in sorted(spans)] != ends[:-1] or ends[-1] != body:
        raise ValueError("its tensors overlap or leave gaps")
    return shapes


def check_cnn_safetensors(data: bytes, entry: dict) -> ModelFacts:
    """Facts of a CNN's safetensors weights, after checking the header and that every tensor has the
    shape the manifest's architecture gives it (worked out on PyTorch's meta device: nothing allocated)."""
    from paretoml.families._cnn import PRECISIONS
    from paretoml.serving._manifest import MAX_PIXELS

    torch = require("torch", "loading a CNN predictor")
    shapes = _safetensors_shapes(data)
    try:
        from paretoml.nets import CNN, Arch, Int8CNN

        arch = Arch.from_dict(dict(entry["arch"]))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"the manifest's model.arch is malformed ({exc})") from None
    pixels = math.prod(arch.in_shape)
    if pixels > MAX_PIXELS or min(arch.in_shape) < 1 or not (math.isfinite(arch.std) and arch.std > 0):
        raise ValueError(f"model.arch: in_shape {arch.in_shape} or std {arch.std} is out of range")
    precision = entry.get("precision", "float32")
    if precision not in PRECISIONS:
        raise ValueError(f"model.precision {precision!r} is not one of {PRECISIONS}")
    with torch.device("meta"):
        net = Int8CNN(arch) if precision == "int8" else CNN(arch)
    expected = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    if expected != shapes:
        raise ValueError("its tensors' names or shapes do not match the manifest's model.arch")
    return ModelFacts(n_features=pixels, n_outputs=arch.n_outputs, per_class=True)


register_model_check("lightgbm", check_lightgbm_text)
register_model_check("xgboost", check_xgboost_ubjson)
register_model_check("cnn", check_cnn_safetensors)
