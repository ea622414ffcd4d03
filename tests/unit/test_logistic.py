"""The driver's multinomial logistic regression (sparkvision.train.logistic): it reaches the
minimum of the objective MLlib minimises (tests/spark/test_train.py compares the two)."""

from __future__ import annotations

import numpy as np
import pytest

from sparkvision.train import logistic


def _data(rows=80, features=12, classes=4, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)) * rng.uniform(0.5, 3, features)
    y = (x[:, :classes] + rng.normal(size=(rows, classes))).argmax(1)
    return x, y


def _objective(x, y, weights, bias, reg):
    logits = x @ weights.T + bias
    top = logits.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return (log_norm - logits[np.arange(len(y)), y]).mean() + 0.5 * reg * np.sum(weights ** 2)


@pytest.mark.parametrize("reg", [1e-3, 0.1, 1.0])
def test_the_fit_is_the_minimum_nothing_nearby_is_lower(reg):
    x, y = _data()
    model = logistic.fit(x, y, 4, reg=reg, max_iter=500)
    assert model.iterations < 500  # it converged rather than ran out
    best = _objective(x, y, model.weights, model.bias, reg)
    rng = np.random.default_rng(0)
    for _ in range(20):
        dw = rng.normal(size=model.weights.shape) * 1e-3
        db = rng.normal(size=model.bias.shape) * 1e-3
        assert _objective(x, y, model.weights + dw, model.bias + db, reg) > best - 1e-12
    # unpenalised intercepts and a softmax: weights and biases stay centred over classes
    assert np.abs(model.bias.sum()) < 1e-8 and np.abs(model.weights.sum(axis=0)).max() < 1e-8
    p = model.probabilities(x)
    assert p.shape == (80, 4) and np.allclose(p.sum(axis=1), 1.0)


def test_two_classes_and_a_weaker_penalty_fit_the_training_rows_closer():
    x, y = _data(classes=2)
    strong = logistic.fit(x, y, 2, reg=1.0)
    weak = logistic.fit(x, y, 2, reg=1e-3)
    assert np.abs(weak.weights).max() > np.abs(strong.weights).max()
    for model in (strong, weak):
        assert (model.probabilities(x).argmax(1) == y).mean() > 0.7
    # less penalty, a lower data term at the minimum
    weak_loss, strong_loss = (_objective(x, y, m.weights, m.bias, 0.0) for m in (weak, strong))
    assert weak_loss < strong_loss


def test_a_class_without_rows_gets_no_probability_to_speak_of():
    x, y = _data(classes=3)
    model = logistic.fit(x, y, 4, reg=0.01)  # class 3 is in no row
    assert model.probabilities(x)[:, 3].max() < 1e-3
    with pytest.raises(ValueError, match=r"labels must be class indices in \[0, 2\); found 2"):
        logistic.fit(x, y, 2, reg=0.01)  # a label past the classes
