import math

import numpy as np
import pytest
import torch
from mmpretrain.registry import MODELS

import mmcolam  # noqa: F401  (registers the components)
from tests.helpers.runner_config import (assert_logged_loss_is_the_module,
                                         assert_trains_as_hard_labels)

LOGITS = np.array([[2.0, 0.5, -1.0, 0.0], [0.1, 0.2, 0.3, -0.4],
                   [-1.5, 3.0, 0.5, 1.0]])
LABELS = np.array([0, 2, 1])


def numpy_confidence_penalty(logits, target, beta):
    """Per-sample CE(target, softmax) + beta * sum(p log p), in numpy."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    if target.ndim == 1:
        target = np.eye(logits.shape[1])[target]
    cross_entropy = -(target * log_p).sum(axis=1)
    negative_entropy = (np.exp(log_p) * log_p).sum(axis=1)
    return cross_entropy + beta * negative_entropy


def build(**kwargs):
    return MODELS.build(dict(type='ConfidencePenaltyLoss', **kwargs))


def test_uniform_prediction_closed_form():
    # softmax(0) is uniform: CE = log C and H = log C, so the loss is
    # (1 - beta) log C. The wrong sign would give (1 + beta) log C.
    num_classes, beta = 4, 0.5
    loss = build(beta=beta)(
        torch.zeros(3, num_classes), torch.tensor([0, 1, 3]))
    assert loss.item() == pytest.approx((1 - beta) * math.log(num_classes))


def test_hard_labels_against_numpy():
    loss = build(beta=0.3)(torch.tensor(LOGITS), torch.tensor(LABELS))
    expected = numpy_confidence_penalty(LOGITS, LABELS, 0.3).mean()
    assert loss.item() == pytest.approx(expected, rel=1e-10)


def test_mixed_scores_against_numpy():
    scores = np.array([[0.7, 0.3, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5],
                       [0.1, 0.6, 0.3, 0.0]])
    loss = build(beta=0.3)(torch.tensor(LOGITS), torch.tensor(scores))
    expected = numpy_confidence_penalty(LOGITS, scores, 0.3).mean()
    assert loss.item() == pytest.approx(expected, rel=1e-10)


def test_default_beta_and_plain_cross_entropy_at_zero():
    assert build().beta == 0.1
    logits, labels = torch.tensor(LOGITS), torch.tensor(LABELS)
    assert build(beta=0.0)(logits, labels).item() == pytest.approx(
        torch.nn.functional.cross_entropy(logits, labels).item())


def test_keywords_that_heads_pass():
    loss = build(beta=0.3, loss_weight=2.0)
    logits, labels = torch.tensor(LOGITS), torch.tensor(LABELS)
    per_sample = numpy_confidence_penalty(LOGITS, LABELS, 0.3)
    weight = torch.tensor([1.0, 0.0, 2.0], dtype=torch.float64)

    none = loss(logits, labels, reduction_override='none')
    np.testing.assert_allclose(none.numpy(), 2.0 * per_sample, rtol=1e-10)
    assert loss(logits, labels, avg_factor=6).item() == pytest.approx(
        2.0 * per_sample.sum() / 6)
    assert loss(logits, labels, reduction_override='sum').item() == \
        pytest.approx(2.0 * per_sample.sum())
    assert loss(logits, labels, weight=weight).item() == pytest.approx(
        2.0 * (per_sample * weight.numpy()).mean())


def test_penalty_lowers_confidence_in_gradient_step():
    # For a correct, confident prediction the penalty pushes the logits
    # apart less than cross-entropy alone does.
    logits = torch.tensor([[4.0, 0.0, 0.0]], requires_grad=True)
    build(beta=1.0)(logits, torch.tensor([0])).backward()
    with_penalty = logits.grad.clone()
    logits.grad = None
    build(beta=0.0)(logits, torch.tensor([0])).backward()
    assert with_penalty[0, 0] > logits.grad[0, 0]


@pytest.mark.parametrize('kwargs, option', [
    (dict(beta=-0.1), 'beta'),
    (dict(beta=float('nan')), 'beta'),
    (dict(reduction='avg'), 'reduction'),
    (dict(loss_weight='1'), 'loss_weight'),
])
def test_bad_arguments(kwargs, option):
    with pytest.raises(ValueError, match=option):
        build(**kwargs)


def test_bad_label_shape_and_reduction_override():
    loss = build()
    with pytest.raises(ValueError, match='label of shape'):
        loss(torch.zeros(3, 4), torch.zeros(3, 5))
    with pytest.raises(ValueError, match='reduction_override'):
        loss(torch.zeros(3, 4), torch.tensor([0, 1, 2]),
             reduction_override='avg')


def test_logged_loss_is_the_module_on_the_last_batch(tmp_path):
    assert_logged_loss_is_the_module(
        tmp_path, dict(type='ConfidencePenaltyLoss', beta=0.3))


def test_at_weight_zero_it_is_the_hard_label_run_bit_for_bit(tmp_path):
    assert_trains_as_hard_labels(
        tmp_path, dict(type='ConfidencePenaltyLoss', beta=0.0))
