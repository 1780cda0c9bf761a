import numpy as np
import pytest
import torch
from mmpretrain.registry import MODELS

import mmcolam  # noqa: F401  (registers the components)
from mmcolam.models.losses import disturb_label_loss
from tests.helpers.runner_config import (assert_trains_as_hard_labels,
                                         fashion_mnist_config, train_recorded)

LOGITS = np.array([[2.0, 0.5, -1.0, 0.0], [0.1, 0.2, 0.3, -0.4],
                   [-1.5, 3.0, 0.5, 1.0]])
LABELS = np.array([0, 2, 1])


def numpy_cross_entropy(logits, target):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    if target.ndim == 1:
        target = np.eye(logits.shape[1])[target]
    return -(target * log_p).sum(axis=1)


def build(**kwargs):
    return MODELS.build(dict(type='DisturbLabelLoss', **kwargs))


def test_default_alpha():
    assert build().alpha == 0.1


def test_alpha_zero_is_cross_entropy_for_labels_and_scores():
    loss = build(alpha=0.0, seed=0)
    scores = np.array([[0.7, 0.3, 0.0, 0.0], [0.0, 0.0, 0.5, 0.5],
                       [0.1, 0.6, 0.3, 0.0]])
    assert loss(torch.tensor(LOGITS), torch.tensor(LABELS)).item() == \
        pytest.approx(numpy_cross_entropy(LOGITS, LABELS).mean(), rel=1e-10)
    assert loss(torch.tensor(LOGITS), torch.tensor(scores)).item() == \
        pytest.approx(numpy_cross_entropy(LOGITS, scores).mean(), rel=1e-10)


def test_training_loss_is_cross_entropy_on_the_disturbed_labels():
    logits = np.random.default_rng(0).normal(size=(64, 5))
    labels = np.arange(64) % 5
    # A twin with the same seed makes the same draws.
    disturbed = build(alpha=0.5, seed=7).disturb_labels(
        torch.tensor(labels), 5).numpy()
    assert (disturbed != labels).any()
    loss = build(alpha=0.5, seed=7, reduction='sum')(
        torch.tensor(logits), torch.tensor(labels))
    assert loss.item() == pytest.approx(
        numpy_cross_entropy(logits, disturbed).sum(), rel=1e-10)


def test_eval_mode_does_not_disturb():
    loss = build(alpha=1.0, seed=0).eval()
    assert loss(torch.tensor(LOGITS), torch.tensor(LABELS)).item() == \
        pytest.approx(numpy_cross_entropy(LOGITS, LABELS).mean(), rel=1e-10)


def test_replacement_rate_and_distribution():
    num_classes, alpha, num_samples = 10, 0.3, 200_000
    labels = torch.zeros(num_samples, dtype=torch.long)
    disturbed = build(alpha=alpha, seed=0).disturb_labels(labels,
                                                          num_classes)
    frequency = np.bincount(disturbed.numpy(), minlength=num_classes) \
        / num_samples
    # The uniform draw may return the true class: a label changes with
    # probability alpha * (C - 1) / C, and becomes each other class with
    # probability alpha / C. The tolerances are about 5 standard deviations.
    assert 1 - frequency[0] == pytest.approx(
        alpha * (num_classes - 1) / num_classes, abs=0.005)
    np.testing.assert_allclose(
        frequency[1:], alpha / num_classes, atol=0.002)
    assert disturbed.dtype == labels.dtype


def test_mixed_scores_are_replaced_by_one_hot_rows():
    num_samples, alpha = 50_000, 0.2
    scores = torch.tensor([[0.5, 0.5, 0.0]]).repeat(num_samples, 1)
    disturbed = build(alpha=alpha, seed=0).disturb_labels(scores, 3)
    replaced = (disturbed != scores).any(dim=1)
    assert replaced.float().mean().item() == pytest.approx(alpha, abs=0.01)
    kept = disturbed[~replaced]
    assert torch.equal(kept, scores[~replaced])
    new_rows = disturbed[replaced]
    assert torch.equal(new_rows.sum(dim=1), torch.ones(len(new_rows)))
    assert set(new_rows.unique().tolist()) == {0.0, 1.0}


def test_same_seed_same_draws_and_different_streams_otherwise(monkeypatch):
    labels = torch.arange(1000) % 10

    def draws(**kwargs):
        loss = build(alpha=0.5, **kwargs)
        return torch.cat([loss.disturb_labels(labels, 10) for _ in range(3)])

    rank0 = draws(seed=3)
    assert torch.equal(rank0, draws(seed=3))
    assert not torch.equal(rank0, draws(seed=4))
    # Without a seed the loss takes the seed given to torch.manual_seed; the
    # position of the global stream does not matter.
    torch.manual_seed(3)
    torch.rand(5)
    assert torch.equal(draws(), rank0)
    # Another rank of the same run draws its own, reproducible labels.
    monkeypatch.setattr(disturb_label_loss, 'get_rank', lambda: 1)
    rank1 = draws(seed=3)
    assert not torch.equal(rank1, rank0)
    assert torch.equal(rank1, draws(seed=3))


@pytest.mark.parametrize('kwargs, option', [
    (dict(alpha=1.5), 'alpha'),
    (dict(alpha=-0.1), 'alpha'),
    (dict(seed=-1), 'seed'),
    (dict(seed=1.5), 'seed'),
    (dict(reduction='avg'), 'reduction'),
    (dict(loss_weight=float('inf')), 'loss_weight'),
])
def test_bad_arguments(kwargs, option):
    with pytest.raises(ValueError, match=option):
        build(**kwargs)


def test_bad_label_shape():
    with pytest.raises(ValueError, match='label of shape'):
        build()(torch.zeros(3, 4), torch.zeros(3, 5))


def test_at_alpha_zero_it_is_the_hard_label_run_bit_for_bit(tmp_path):
    hard = assert_trains_as_hard_labels(
        tmp_path, dict(type='DisturbLabelLoss', alpha=0.0))
    # And a disturbed run trains another model.
    _, _, disturbed = train_recorded(
        fashion_mnist_config(
            tmp_path / 'dl', loss=dict(type='DisturbLabelLoss', alpha=0.5)),
        'dl_half')
    assert not torch.equal(disturbed['head.fc.weight'],
                           hard['head.fc.weight'])
