import math

import numpy as np
import pytest
import torch
from mmpretrain.registry import MODELS

import mmcolam  # noqa: F401  (registers the components)
from tests.helpers.runner_config import (assert_logged_loss_is_the_module,
                                         assert_trains_as_hard_labels)


def log_softmax(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def official_cifar_loss(logits, labels, alpha, temperature, multiplier):
    """``loss_kd_regularization`` of the authors' code, rewritten in numpy:
    mean CE + alpha * multiplier * KLDivLoss() (a mean over all N * C
    entries) between softmax(teacher_soft / T) and the unsoftened student.
    """
    num_samples, num_classes = logits.shape
    correct_prob = 0.99
    teacher_soft = np.full((num_samples, num_classes),
                           (1 - correct_prob) / (num_classes - 1))
    teacher_soft[np.arange(num_samples), labels] = correct_prob
    teacher = np.exp(log_softmax(teacher_soft / temperature))
    log_student = log_softmax(logits)
    cross_entropy = -log_student[np.arange(num_samples), labels].mean()
    kl_div_mean = (teacher * (np.log(teacher) - log_student)).mean()
    return (1 - alpha) * cross_entropy + alpha * kl_div_mean * multiplier


def build(**kwargs):
    return MODELS.build(dict(type='TfKDRegLoss', **kwargs))


def test_defaults_are_the_authors_cifar100_resnet18_run():
    loss = build()
    assert (loss.alpha, loss.temperature, loss.correct_prob,
            loss.student_temperature, loss.kl_weight) == (0.1, 20.0, 0.99,
                                                          1.0, 1.0)


def test_teacher_closed_form():
    # softmax([a, b, ..., b] / T) with b = (1 - a) / (C - 1).
    true_prob, other_prob = build().teacher_probs(100)
    b = 0.01 / 99
    norm = math.exp(0.99 / 20) + 99 * math.exp(b / 20)
    assert true_prob == pytest.approx(math.exp(0.99 / 20) / norm, rel=1e-12)
    assert other_prob == pytest.approx(math.exp(b / 20) / norm, rel=1e-12)
    assert true_prob + 99 * other_prob == pytest.approx(1.0, rel=1e-12)
    assert round(true_prob, 4) == 0.0105 and round(other_prob, 4) == 0.0100


def test_matches_the_authors_code_on_cifar100():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(8, 100))
    labels = rng.integers(0, 100, size=8)
    expected = official_cifar_loss(logits, labels, alpha=0.1,
                                   temperature=20, multiplier=100)
    loss = build()(torch.tensor(logits), torch.tensor(labels))
    assert loss.item() == pytest.approx(expected, rel=1e-10)


def test_kl_weight_is_multiplier_over_num_classes():
    # MobileNetV2 run of the authors: alpha 0.95, T 40, multiplier 1.
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(6, 10))
    labels = rng.integers(0, 10, size=6)
    expected = official_cifar_loss(logits, labels, alpha=0.95,
                                   temperature=40, multiplier=1.0)
    loss = build(alpha=0.95, temperature=40, kl_weight=1.0 / 10)(
        torch.tensor(logits), torch.tensor(labels))
    assert loss.item() == pytest.approx(expected, rel=1e-10)


def test_student_at_the_teacher_temperature():
    # alpha T^2 KL(p^d_T || softmax(z / T)), the paper's softened student.
    rng = np.random.default_rng(2)
    logits = rng.normal(scale=3.0, size=(5, 7))
    labels = np.array([0, 3, 6, 2, 2])
    alpha, temperature = 0.4, 4.0
    teacher_soft = np.full((5, 7), 0.01 / 6)
    teacher_soft[np.arange(5), labels] = 0.99
    teacher = np.exp(log_softmax(teacher_soft / temperature))
    kl = (teacher * (np.log(teacher) -
                     log_softmax(logits / temperature))).sum(axis=1)
    cross_entropy = -log_softmax(logits)[np.arange(5), labels]
    expected = ((1 - alpha) * cross_entropy +
                alpha * temperature**2 * kl).mean()
    loss = build(alpha=alpha, temperature=temperature,
                 student_temperature=temperature)(torch.tensor(logits),
                                                  torch.tensor(labels))
    assert loss.item() == pytest.approx(expected, rel=1e-10)


def test_student_equal_to_teacher_leaves_only_cross_entropy():
    # z = log p^d: the KL term vanishes and CE = -log p^d_y.
    loss = build(alpha=0.3, temperature=2.0, correct_prob=0.9)
    true_prob, other_prob = loss.teacher_probs(4)
    logits = torch.full((2, 4), math.log(other_prob), dtype=torch.float64)
    logits[0, 1] = logits[1, 3] = math.log(true_prob)
    value = loss(logits, torch.tensor([1, 3]))
    assert value.item() == pytest.approx(0.7 * -math.log(true_prob),
                                         rel=1e-10)


def test_mixed_scores_mix_the_teachers():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(3, 5))
    scores = np.array([[0.6, 0.4, 0, 0, 0], [0, 0, 1.0, 0, 0],
                       [0.2, 0, 0, 0.3, 0.5]])
    alpha, temperature = 0.5, 3.0
    per_class = np.full((5, 5), 0.01 / 4)
    np.fill_diagonal(per_class, 0.99)
    per_class_teacher = np.exp(log_softmax(per_class / temperature))
    teacher = scores @ per_class_teacher
    log_student = log_softmax(logits)
    kl = (teacher * (np.log(teacher) - log_student)).sum(axis=1)
    cross_entropy = -(scores * log_student).sum(axis=1)
    expected = ((1 - alpha) * cross_entropy + alpha * kl).sum()
    loss = build(alpha=alpha, temperature=temperature, reduction='sum')(
        torch.tensor(logits), torch.tensor(scores))
    assert loss.item() == pytest.approx(expected, rel=1e-10)


def test_keywords_that_heads_pass():
    rng = np.random.default_rng(4)
    logits = torch.tensor(rng.normal(size=(4, 6)))
    labels = torch.tensor([0, 1, 2, 5])
    loss = build(loss_weight=3.0)
    per_sample = loss(logits, labels, reduction_override='none')
    assert per_sample.shape == (4, )
    assert loss(logits, labels, avg_factor=8).item() == pytest.approx(
        per_sample.sum().item() / 8)
    weight = torch.tensor([1.0, 0.0, 0.5, 2.0], dtype=torch.float64)
    assert loss(logits, labels, weight=weight).item() == pytest.approx(
        (per_sample * weight).mean().item())


@pytest.mark.parametrize('kwargs, option', [
    (dict(alpha=1.1), 'alpha'),
    (dict(temperature=0), 'temperature'),
    (dict(correct_prob=0.0), 'correct_prob'),
    (dict(correct_prob=1.2), 'correct_prob'),
    (dict(student_temperature=-1.0), 'student_temperature'),
    (dict(kl_weight=-0.5), 'kl_weight'),
    (dict(reduction='batchmean'), 'reduction'),
    (dict(loss_weight=None), 'loss_weight'),
])
def test_bad_arguments(kwargs, option):
    with pytest.raises(ValueError, match=option):
        build(**kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match='label of shape'):
        build()(torch.zeros(3, 4), torch.zeros(3, 5))
    with pytest.raises(ValueError, match='at least 2 classes'):
        build()(torch.zeros(3, 1), torch.zeros(3, dtype=torch.long))


def test_logged_loss_is_the_module_on_the_last_batch(tmp_path):
    assert_logged_loss_is_the_module(tmp_path, dict(type='TfKDRegLoss'))


def test_at_weight_zero_it_is_the_hard_label_run_bit_for_bit(tmp_path):
    assert_trains_as_hard_labels(tmp_path,
                                 dict(type='TfKDRegLoss', alpha=0.0))
