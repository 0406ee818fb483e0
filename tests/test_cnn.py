"""The CNN family: training, channel pruning, int8/fp16, distillation, saving, image inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch", reason="the CNN family needs paretoml[cnn]")

import paretoml  # noqa: E402
from paretoml import ConfigError, DataError, Predictor  # noqa: E402
from paretoml.data import Preprocessor  # noqa: E402
from paretoml.families import FitData, get_family  # noqa: E402
from paretoml.families._cnn import CNNModel  # noqa: E402
from paretoml.nets import CNN, Arch, TrainSettings, as_images, prune_channels, quantize_int8, train  # noqa: E402

SHAPE = (1, 8, 8)


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.images, d.target


def _fit_data(digits: tuple[np.ndarray, np.ndarray], n: int = 600, classes: int = 10) -> FitData:
    images, y = digits
    keep = np.flatnonzero(y < classes)[:n]
    X = images[keep].reshape(len(keep), -1).astype(np.float64)
    cut = int(0.75 * len(keep))
    task = "binary" if classes == 2 else "multiclass"
    return FitData(X[:cut], y[keep][:cut], X[cut:], y[keep][cut:], [], task, classes, 1, 0, image_shape=SHAPE)


@pytest.fixture(scope="module")
def trained(digits: tuple[np.ndarray, np.ndarray]) -> tuple[FitData, CNNModel]:
    data = _fit_data(digits)
    params = {"n_blocks": 2, "channels": 8, "channel_growth": 2, "max_epochs": 25, "learning_rate": 0.01}
    model = get_family("cnn").fit(data, params)
    assert isinstance(model, CNNModel)
    return data, model


def _accuracy(model: Any, data: FitData) -> float:
    return float((model.predict(data.X_valid).argmax(axis=1) == data.y_valid).mean())


def test_tiny_cnn_trains_and_beats_chance(digits: tuple[np.ndarray, np.ndarray]) -> None:
    data = _fit_data(digits, n=240, classes=4)
    model = get_family("cnn").fit(data, {"n_blocks": 2, "channels": 4, "max_epochs": 20, "learning_rate": 0.01})
    out = model.predict(data.X_valid)
    assert out.shape == (len(data.y_valid), 4)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)
    assert _accuracy(model, data) > 0.25 + 0.4  # chance is 0.25 on four balanced classes
    assert model.stats()["n_params"] == sum(p.numel() for p in CNN(model.arch).parameters())


def test_training_is_seeded(digits: tuple[np.ndarray, np.ndarray]) -> None:
    data = _fit_data(digits, n=200, classes=3)
    params = {"n_blocks": 1, "channels": 3, "max_epochs": 3, "dropout": 0.2}
    a, b = (get_family("cnn").fit(data, params) for _ in range(2))
    np.testing.assert_array_equal(a.predict(data.X_valid), b.predict(data.X_valid))


def test_serving_net_has_batch_norm_folded(trained: tuple[FitData, CNNModel]) -> None:
    _, model = trained
    assert model.arch.batch_norm is False
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.net.modules())


def test_pruning_removes_channels_and_keeps_the_net_runnable(trained: tuple[FitData, CNNModel]) -> None:
    data, model = trained
    net = model.net
    images = as_images(data.X_train[:256], SHAPE)
    same = prune_channels(net, 0.0, images)
    x = as_images(data.X_valid, SHAPE)
    torch.testing.assert_close(same(x), net(x))  # keeping everything changes nothing
    small = prune_channels(net, 0.5, images)
    assert small.arch.channels == (4, 8)
    assert [m.out_channels for m in small.modules() if isinstance(m, torch.nn.Conv2d)] == [4, 8]
    assert small.n_params() < net.n_params() / 2
    assert small(x).shape == (len(x), 10)
    kept = CNNModel(small, "multiclass")
    assert _accuracy(kept, data) > 0.3  # mean replacement keeps it far above chance (0.1) before fine-tuning


def test_mean_replacement_beats_plain_removal(trained: tuple[FitData, CNNModel]) -> None:
    data, model = trained
    images = as_images(data.X_train[:256], SHAPE)
    replaced = CNNModel(prune_channels(model.net, 0.25, images), "multiclass")
    dropped = CNNModel(prune_channels(model.net, 0.25, images, mean_replacement=False), "multiclass")
    assert replaced.arch.channels == dropped.arch.channels == (6, 12)
    assert _accuracy(replaced, data) > _accuracy(dropped, data)


def test_int8_predicts_close_to_float(trained: tuple[FitData, CNNModel]) -> None:
    data, model = trained
    qnet = quantize_int8(model.net, as_images(data.X_train[:256], SHAPE))
    assert qnet.conv0_w.dtype == torch.int8 and qnet.fc0_w.dtype == torch.int8
    q = CNNModel(qnet, "multiclass", precision="int8")
    p_float, p_int8 = model.predict(data.X_valid), q.predict(data.X_valid)
    assert np.abs(p_float - p_int8).max() < 0.15
    assert (p_float.argmax(axis=1) == p_int8.argmax(axis=1)).mean() >= 0.95
    assert q.n_params == model.n_params


def test_int8_matmul_is_exact_integer_arithmetic() -> None:
    from paretoml.nets._int8 import _int_mm

    rng = np.random.default_rng(0)
    a = torch.as_tensor(rng.integers(-127, 128, (37, 9)), dtype=torch.int8)
    b = torch.as_tensor(rng.integers(-127, 128, (9, 5)), dtype=torch.int8)
    expected = a.numpy().astype(np.int64) @ b.numpy().astype(np.int64)
    np.testing.assert_array_equal(_int_mm(a, b).numpy(), expected)


@pytest.mark.parametrize("quantize", ["none", "int8", "fp16"])
def test_predictor_save_load_round_trip(trained: tuple[FitData, CNNModel], quantize: str, tmp_path: Path) -> None:
    from paretoml.compression import after_fit
    from paretoml.compression._base import CompressionContext

    data, model = trained
    served = after_fit(model, data, CompressionContext({"quantize": quantize}, "cnn"))
    frame = pd.DataFrame(data.X_train, columns=[f"pixel_{i}" for i in range(64)])
    pre = Preprocessor.fit(frame, keep_all=True)
    pred = Predictor(pre, served, task="multiclass", classes=np.arange(10), image_shape=SHAPE)
    folder = pred.save(tmp_path / "p")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["model"]["precision"] == {"none": "float32", "int8": "int8", "fp16": "float16"}[quantize]
    assert manifest["model"]["arch"]["channels"] == list(model.arch.channels)
    weights = (folder / "model.cnn.safetensors").read_bytes()
    header = json.loads(weights[8 : 8 + int.from_bytes(weights[:8], "little")])  # safetensors: no pickle
    dtypes = {v["dtype"] for k, v in header.items() if k != "__metadata__"}
    assert dtypes == {"none": {"F32"}, "int8": {"I8", "F32"}, "fp16": {"F16"}}[quantize]
    again = paretoml.load(folder)
    images = data.X_valid.reshape(-1, 8, 8)
    np.testing.assert_array_equal(again.predict_proba(images), pred.predict_proba(images))
    if quantize == "fp16":
        assert len(weights) < 0.6 * (served.n_params * 4)


def test_predictor_takes_raw_images_in_every_form(trained: tuple[FitData, CNNModel]) -> None:
    data, model = trained
    frame = pd.DataFrame(data.X_train, columns=[f"pixel_{i}" for i in range(64)])
    pred = Predictor(Preprocessor.fit(frame, keep_all=True), model, task="multiclass", classes=np.arange(10),
                     image_shape=SHAPE)  # fmt: skip
    flat = data.X_valid[:5]
    expected = pred.predict_proba(pd.DataFrame(flat, columns=frame.columns))
    # The net runs in float32 and torch picks its convolution kernel by batch size, so one image and the
    # same image in a batch of five are summed in another order. Each conv output sums at most 72 products
    # (8 channels x 3x3) and the logits pass three such layers; a reordered float32 sum moves by a few ulps
    # per term, about sqrt(72) * 3 * eps32 ~ 3e-6 of a logit of order 1, and softmax never amplifies an
    # absolute error (its Jacobian's norm is at most 1/2). So 1e-5 (84 ulps of 1.0) is the tolerance;
    # a wrong reshape or channel order moves probabilities by orders of magnitude more.
    tol = {"rtol": 0.0, "atol": 1e-5}
    for form in (flat.reshape(5, 8, 8), flat.reshape(5, 1, 8, 8), flat):
        np.testing.assert_allclose(pred.predict_proba(form), expected, **tol)
    np.testing.assert_allclose(pred.predict_proba(flat[0].reshape(8, 8)), expected[:1], **tol)
    np.testing.assert_allclose(pred.predict_proba(flat[0].reshape(1, 8, 8)), expected[:1], **tol)
    assert pred.predict(flat[0].reshape(8, 8))[0] == pred.predict(flat)[0]
    with pytest.raises(DataError, match=r"shape \(2, 7, 7\).*images of shape \(1, 8, 8\)"):
        pred.predict(np.zeros((2, 7, 7)))
    bad = flat[0].copy()
    bad[3] = np.nan
    with pytest.raises(DataError, match="NaN or infinite pixel"):
        pred.predict(bad.reshape(8, 8))


def test_distillation_uses_the_teacher(trained: tuple[FitData, CNNModel]) -> None:
    from paretoml.compression import CNNTeacher, before_fit
    from paretoml.compression._base import CompressionContext

    data, _ = trained
    teacher = CNNTeacher(data)
    logits, described = teacher.predictions()
    assert logits.shape == (len(data.y_train), 10)
    assert described["n_params"] > 10_000 and described["valid_accuracy"] > 0.8
    assert teacher.predictions()[0] is logits  # trained once, then kept
    ctx = CompressionContext({"distill": True, "temperature": 3.0, "alpha": 0.0}, "cnn", teacher=teacher)
    student = {"n_blocks": 2, "channels": 8, "max_epochs": 25, "learning_rate": 0.01}
    student_data, params = before_fit(data, student, ctx)
    assert params["kd_temperature"] == 3.0 and params["kd_alpha"] == 0.0
    assert student_data.soft_targets is logits and ctx.parts == ["distilled"]
    model = get_family("cnn").fit(student_data, params)
    # alpha=0: trained on the teacher's outputs alone, the student follows the teacher's labels
    agree = (model.predict(data.X_train).argmax(axis=1) == logits.argmax(axis=1)).mean()
    assert agree > 0.8


def test_arch_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="kernel_size"):
        Arch(SHAPE, (4,), kernel_size=4)
    with pytest.raises(ValueError, match="activation"):
        Arch(SHAPE, (4,), activation="tanh")
    with pytest.raises(ValueError, match="prune_fraction"):
        prune_channels(CNN(Arch(SHAPE, (4,))), 1.0, torch.zeros(2, *SHAPE))


def test_diverging_training_is_a_clear_error(digits: tuple[np.ndarray, np.ndarray]) -> None:
    data = _fit_data(digits, n=120, classes=3)
    net = CNN(Arch(SHAPE, (4,), batch_norm=False, n_outputs=3))
    with pytest.raises(FloatingPointError, match=r"diverged at epoch 1 .*learning rate 1e\+30"):
        train(net, as_images(data.X_train, SHAPE), data.y_train, as_images(data.X_valid, SHAPE), data.y_valid,
              TrainSettings(learning_rate=1e30, max_epochs=3), seed=0)  # fmt: skip


# ---------------------------------------------------------------------------- studies on image data
_SMALL_CNN = {
    "family": "cnn",
    "params": {
        "n_blocks": {"type": "int", "low": 1, "high": 2},
        "channels": {"type": "int", "low": 4, "high": 8},
        "learning_rate": {"type": "fixed", "value": 0.01},
        "max_epochs": {"type": "fixed", "value": 6},
    },
}
_FORCED = {
    "family": "cnn_compression",
    "params": {
        "distill": {"type": "fixed", "value": True},
        "temperature": {"type": "fixed", "value": 2.0},
        "alpha": {"type": "fixed", "value": 0.5},
        "prune_fraction": {"type": "fixed", "value": 0.5},
        "finetune_epochs": {"type": "fixed", "value": 2},
        "quantize": {"type": "fixed", "value": "int8"},
    },
}


def test_image_study_runs_cnns_with_every_compression(digits: tuple[np.ndarray, np.ndarray]) -> None:
    images, y = digits
    result = paretoml.optimize(
        (images[:400], y[:400]), "2 trials", families=["cnn"], search_spaces={"cnn": _SMALL_CNN},
        compression=_FORCED, seed=0, trial_timeout=None,
    )  # fmt: skip
    assert result.study.user_attrs["image_shape"] == [1, 8, 8]
    for t in result.study.trials:
        assert t.state.name == "COMPLETE", t.user_attrs.get("fail_reason")
        a = t.user_attrs
        assert a["compression"] == "distilled, pruned 50%, int8"
        assert a["n_params"] < a["n_params_before_pruning"]
        assert a["teacher"]["family"] == "cnn" and a["kd_alpha"] == 0.5
        train_rows = result.study.user_attrs["split"]["rows"][0]
        assert a["metric_uncompressed"] is not None and a["calibration_rows"] == min(512, train_rows)
    pred = result.predictor(0)
    assert pred.image_shape == (1, 8, 8) and pred.model.precision == "int8"
    labels = pred.predict(images[500:520])
    assert labels.shape == (20,) and set(labels) <= set(range(10))


def test_image_data_adds_the_cnn_family_to_the_defaults(digits: tuple[np.ndarray, np.ndarray]) -> None:
    images, y = digits
    frame = pd.DataFrame(images[:300].reshape(300, -1), columns=[f"p{i}" for i in range(64)]).assign(label=y[:300])
    result = paretoml.optimize(
        frame, "4 trials", target="label", image_shape=(8, 8), search_spaces={"cnn": _SMALL_CNN},
        compression=False, features=False, seed=1,
    )  # fmt: skip
    assert set(result.study.trials[0].distributions["family"].choices) == {"cnn", "lightgbm", "xgboost"}
    done = [t for t in result.study.trials if t.state.name == "COMPLETE"]
    assert len(done) == 4
    for t in done:  # every family sees all 64 pixel columns, constant border pixels included
        assert t.user_attrs["n_features"] == 64


def test_without_torch_image_data_runs_trees_and_says_how_to_enable_cnns(
    digits: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    import paretoml._prepare as api
    from paretoml.exceptions import MissingDependencyError

    def no_torch(module: str, feature: str) -> Any:
        raise MissingDependencyError(f"{feature} needs 'torch'. Install it with: pip install 'paretoml[cnn]'")

    monkeypatch.setattr(api, "require", no_torch)
    images, y = digits
    with pytest.warns(UserWarning, match=r"gradient-boosted models only.*paretoml\[cnn\]"):
        result = paretoml.optimize((images[:200], y[:200]), "1 trials", compression=False, features=False)
    assert set(result.study.trials[0].distributions["family"].choices) == {"lightgbm", "xgboost"}
    with pytest.raises(MissingDependencyError, match=r"paretoml\[cnn\]"):
        paretoml.optimize((images[:200], y[:200]), "1 trials", families=["cnn"])


def test_image_input_errors_name_the_fix(digits: tuple[np.ndarray, np.ndarray]) -> None:
    images, y = digits
    flat = pd.DataFrame(images[:100].reshape(100, -1))
    flat.columns = [f"c{i}" for i in range(64)]
    with pytest.raises(ConfigError, match=r"family 'cnn' needs image data.*image_shape"):
        paretoml.optimize((flat, y[:100]), "1 trials", families=["cnn"])
    with pytest.raises(DataError, match=r"image_shape`=\(1, 7, 7\) needs 49 pixel columns.*has 64"):
        paretoml.optimize((flat, y[:100]), "1 trials", image_shape=(7, 7))
    with pytest.raises(DataError, match=r"image_shape`=\(1, 4, 16\) does not match the images.*\(1, 8, 8\)"):
        paretoml.optimize((images[:100], y[:100]), "1 trials", image_shape=(4, 16))
    with pytest.raises(ConfigError, match=r"image_shape` must be 2 or 3 positive integers"):
        paretoml.optimize((flat, y[:100]), "1 trials", image_shape=(8, 0))
    holes = images[:100].copy()
    holes[3, 2, 2] = np.nan
    with pytest.raises(DataError, match=r"NaN or infinite pixel values in 1 images"):
        paretoml.optimize((holes, y[:100]), "1 trials")
    with pytest.raises(DataError, match=r"\(1, 8, 8\) does not match the images in `validation`, of shape \(1, 4, 4\)"):
        paretoml.optimize((images[:100], y[:100]), "1 trials", validation=(images[:20, :4, :4], y[:20]))


@pytest.mark.parametrize(
    ("batch_norm", "head", "act"), [(True, "gap", "relu"), (False, "dense", "gelu"), (True, "dense", "silu")]
)
def test_serving_forward_equals_module_forward(batch_norm: bool, head: str, act: str) -> None:
    torch.manual_seed(0)
    net = CNN(Arch((2, 9, 7), (3, 5, 4), batch_norm=batch_norm, head=head, activation=act, dropout=0.3, mean=2.0))
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2.0)
    net.eval()
    x = torch.randn(6, 2, 9, 7)
    with torch.inference_mode():
        torch.testing.assert_close(net.serve(x), net(x))
