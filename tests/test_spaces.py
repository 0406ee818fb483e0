from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from paretoml import SearchSpaceError
from paretoml.spaces import default_space_path, load_space


@pytest.mark.parametrize("family", ["lightgbm", "xgboost"])
def test_default_spaces_load_and_suggest(family: str) -> None:
    space = load_space(default_space_path(family), family=family)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = study.ask()
        params = space.suggest(trial)
        assert all(k.startswith(f"{family}.") for k in trial.params)
        assert params["early_stopping_rounds"] == 30
        study.tell(trial, 0.0)


def test_conditions_are_respected() -> None:
    space = load_space(default_space_path("xgboost"))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen = set()
    for _ in range(30):
        params = space.suggest(study.ask())
        seen.add(params["grow_policy"])
        if params["grow_policy"] == "depthwise":
            assert "max_depth" in params and "max_leaves" not in params
        else:
            assert "max_leaves" in params and "max_depth" not in params
    assert seen == {"depthwise", "lossguide"}


def test_repo_spaces_are_the_shipped_ones() -> None:
    repo = Path(__file__).resolve().parents[1] / "search_spaces"
    for family in ("lightgbm", "xgboost"):
        assert (repo / f"{family}.yaml").read_text() == default_space_path(family).read_text()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            "family: lightgbm\nparams:\n  a: {type: int, low: 5, high: 1}\n",
            r"params\.a: `low` \(5\) must not exceed",
        ),
        (
            "family: lightgbm\nparams:\n  a: {type: float, low: 0, high: 1, log: true}\n",
            "params.a: `log: true` needs",
        ),
        ("family: lightgbm\nparams:\n  a: {type: dice}\n", r"params\.a\.type: must be one of"),
        (
            "family: lightgbm\nparams:\n  a: {type: categorical, choices: []}\n",
            r"params\.a\.choices",
        ),
        (
            "family: lightgbm\nparams:\n  a: {type: int, low: x, high: 2}\n",
            r"params\.a\.low: must be a number",
        ),
        (
            "family: lightgbm\nparams:\n  a: {type: int, low: 1, high: 2, when: {b: 1}}\n",
            "refers to 'b'",
        ),
        (
            "family: lightgbm\nparams:\n  a: {type: int, low: 1, high: 2, colour: red}\n",
            "unknown keys",
        ),
        (
            "family: lightgbm\nparams:\n  b: {type: int, low: 0, high: 1}\n"
            "  a: {type: int, low: 1, high: 2, when: 5}\n",
            r"params\.a\.when: must map an earlier parameter to its value\(s\), "
            r"e\.g\. `when: \{bagging_freq: 1\}`; got 5",
        ),
        (
            "family: lightgbm\nparams:\n  a: {type: int, low: 1, high: 9, step: 0.5}\n",
            r"params\.a\.step: must be a whole number >= 1 for type 'int'; use a step such as 1 or 2, or `type: float`",
        ),
        (
            "family: lightgbm\nparams:\n  a: {type: float, low: 0, high: 1, step: -0.1}\n",
            r"params\.a\.step: must be positive; use a step > 0 or leave `step` out",
        ),
        ("family: lightgbm\nparams: {}\n", "params: must be a non-empty"),
        ("family: xgboost\nparams:\n  a: {type: int, low: 1, high: 2}\n", "family: is 'xgboost'"),
        ("family: lightgbm\nparams: [\n", "not valid YAML"),
    ],
)
def test_malformed_space_names_file_and_key(tmp_path: Path, text: str, match: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(SearchSpaceError, match=match) as info:
        load_space(path, family="lightgbm")
    assert str(path) in str(info.value)


def test_user_space_is_used(tmp_path: Path) -> None:
    path = _write(tmp_path, "family: lightgbm\nparams:\n  num_leaves: {type: int, low: 2, high: 3}\n")
    space = load_space(path, family="lightgbm")
    params = space.suggest(optuna.create_study().ask())
    assert params == {"num_leaves": params["num_leaves"]} and params["num_leaves"] in (2, 3)
