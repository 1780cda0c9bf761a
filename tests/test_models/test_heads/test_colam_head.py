"""COLAMHead's loss (paper Eq. 4) against an independent computation."""
import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from mmcolam.models.heads import COLAMHead

S = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.25, 0.25, 0.5]])
LOGITS = np.array([[2.0, -1.0, 0.5], [0.3, 0.4, -2.0], [1.0, 1.0, 3.0],
                   [-0.5, 2.5, 0.0]])


def np_log_softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def reference_loss(targets, temperature):
    """mean_n -sum_j target_nj log softmax_j(z_n / T), computed in numpy."""
    return -(targets * np_log_softmax(LOGITS / temperature)).sum(1).mean()


def make_head(temperature=2.0, hard_label_weight=0.0, smoothing=None):
    """A head in the paper's form unless given eps (the bounded form)."""
    form = dict(target='paper', hard_label_weight=hard_label_weight) \
        if smoothing is None else dict(smoothing=smoothing)
    head = COLAMHead(3, 4, temperature=temperature, **form)
    head.set_soft_labels(torch.tensor(S, dtype=torch.float32))
    return head


def samples(labels=None, scores=None):
    out = []
    for i in range(len(LOGITS)):
        sample = DataSample()
        if labels is not None:
            sample.set_gt_label(int(labels[i]))
        if scores is not None:
            sample.set_gt_score(torch.tensor(scores[i], dtype=torch.float32))
        out.append(sample)
    return out


def loss_of(head, data_samples):
    logits = torch.tensor(LOGITS, dtype=torch.float32)
    return head._get_loss(logits, data_samples)['loss'].item()


@pytest.mark.parametrize('temperature', [1.0, 2.0, 0.5])
def test_soft_label_loss_matches_numpy(temperature):
    labels = np.array([0, 1, 2, 1])
    expected = reference_loss(S[labels], temperature)
    assert loss_of(make_head(temperature), samples(labels)) == \
        pytest.approx(expected, rel=1e-5)


def test_identity_table_is_plain_cross_entropy_at_t1():
    labels = np.array([0, 1, 2, 1])
    head = COLAMHead(3, 4, temperature=1.0, target='paper')
    head.set_soft_labels(torch.eye(3))
    expected = torch.nn.functional.cross_entropy(
        torch.tensor(LOGITS, dtype=torch.float32), torch.tensor(labels))
    assert loss_of(head, samples(labels)) == pytest.approx(
        expected.item(), rel=1e-6)


def test_mixup_scores_mix_the_soft_labels():
    lam = 0.3
    scores = np.zeros((4, 3))
    pairs = [(0, 1), (1, 2), (2, 2), (1, 0)]
    for n, (a, b) in enumerate(pairs):
        scores[n, a] += lam
        scores[n, b] += 1 - lam
    targets = np.stack(
        [lam * S[a] + (1 - lam) * S[b] for a, b in pairs])
    assert loss_of(make_head(2.0), samples(scores=scores)) == \
        pytest.approx(reference_loss(targets, 2.0), rel=1e-5)


def test_hard_label_weight_mixes_one_hot_and_soft_label():
    labels = np.array([2, 0, 1, 1])
    alpha = 0.4
    targets = alpha * np.eye(3)[labels] + (1 - alpha) * S[labels]
    assert loss_of(make_head(1.5, alpha), samples(labels)) == \
        pytest.approx(reference_loss(targets, 1.5), rel=1e-5)


def test_prediction_is_plain_softmax_of_logits():
    head = make_head(2.0)
    feats = (torch.randn(4, 4), )
    with torch.no_grad():
        predictions = head.predict(feats)
        expected = torch.softmax(head(feats), 1)
    np.testing.assert_allclose(
        torch.stack([p.pred_score for p in predictions]).numpy(),
        expected.numpy(), rtol=1e-6)


def test_table_starts_as_identity_and_is_in_state_dict():
    head = COLAMHead(5, 8)
    assert torch.equal(head.soft_labels, torch.eye(5))
    assert 'soft_labels' in head.state_dict()


def test_training_without_hook_or_file_fails_clearly():
    head = COLAMHead(3, 4)
    with pytest.raises(RuntimeError, match='SoftLabelHook'):
        loss_of(head, samples(np.array([0, 1, 2, 1])))


def test_fixed_soft_label_file(tmp_path):
    path = str(tmp_path / 'S.npy')
    np.save(path, S)
    head = COLAMHead(3, 4, temperature=1.0, target='paper',
                     soft_label_file=path)
    np.testing.assert_allclose(head.soft_labels.numpy(), S, rtol=1e-6)
    labels = np.array([0, 1, 2, 1])
    assert loss_of(head, samples(labels)) == pytest.approx(
        reference_loss(S[labels], 1.0), rel=1e-5)


def test_soft_label_file_of_wrong_shape_is_rejected(tmp_path):
    path = str(tmp_path / 'S.npy')
    np.save(path, np.eye(4))
    with pytest.raises(ValueError, match=r'shape \(4, 4\).*num_classes=3'):
        COLAMHead(3, 4, soft_label_file=path)
    np.save(path, np.full((3, 3), 0.5))
    with pytest.raises(ValueError, match='row must sum to 1'):
        COLAMHead(3, 4, soft_label_file=path)


def test_set_soft_labels_trains_against_the_table_and_checks_it():
    head = COLAMHead(3, 4, temperature=1.0, target='paper')
    head.set_soft_labels(torch.tensor(S))
    np.testing.assert_allclose(head.soft_labels.numpy(), S, rtol=1e-6)
    labels = np.array([2, 0, 1, 1])
    assert loss_of(head, samples(labels)) == pytest.approx(
        reference_loss(S[labels], 1.0), rel=1e-5)
    with pytest.raises(ValueError, match=r'shape \(2, 2\).*num_classes=3'):
        head.set_soft_labels(torch.eye(2))
    negative = torch.tensor(S)
    negative[0] = torch.tensor([1.2, -0.1, -0.1])
    with pytest.raises(ValueError, match='finite and >= 0'):
        head.set_soft_labels(negative)
    np.testing.assert_allclose(head.soft_labels.numpy(), S, rtol=1e-6)


@pytest.mark.parametrize('kwargs, pattern', [
    (dict(temperature=0), r'temperature=0 must be a finite number in '
     r'\[0.01, '),
    (dict(temperature=-1.0), 'temperature=-1.0'),
    (dict(temperature=float('inf')), 'temperature=inf'),
    (dict(temperature=1e-40), 'temperature=1e-40'),
    (dict(target='paper', hard_label_weight=1.5),
     r'hard_label_weight=1.5 .*\[0, 1\]'),
    (dict(smoothing=1.0),
     r'smoothing=1.0 must be a finite number in \(0, 1\)'),
    (dict(hard_label_weight=0.5),
     r"hard_label_weight=0.5 applies to target='paper' only"),
    (dict(target='Paper'),
     r"target='Paper' is not supported: choose one of 'bounded', 'paper'"),
    (dict(smoothing=None), r"smoothing=None selected .* use target='paper'"),
])
def test_bad_options_are_rejected(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        COLAMHead(3, 4, **kwargs)


def bounded_targets(labels, eps):
    """(1 - eps) * one-hot + eps * (row of S without its class, renormalised),
    one sample at a time."""
    out = []
    for c in labels:
        off = S[c].copy()
        off[c] = 0
        out.append((1 - eps) * np.eye(3)[c] + eps * off / off.sum())
    return np.array(out)


@pytest.mark.parametrize('eps, temperature', [(0.1, 1.0), (0.3, 2.0)])
def test_bounded_form_matches_numpy(eps, temperature):
    labels = np.array([0, 1, 2, 1])
    expected = reference_loss(bounded_targets(labels, eps), temperature)
    head = make_head(temperature, smoothing=eps)
    assert loss_of(head, samples(labels)) == pytest.approx(expected,
                                                           rel=1e-5)


def test_bounded_form_mixes_rows_for_mixup_scores():
    eps, lam = 0.2, 0.3
    pairs = [(0, 1), (1, 2), (2, 2), (1, 0)]
    scores = np.zeros((4, 3))
    targets = []
    for n, (a, b) in enumerate(pairs):
        scores[n, a] += lam
        scores[n, b] += 1 - lam
        rows = bounded_targets([a, b], eps)
        targets.append(lam * rows[0] + (1 - lam) * rows[1])
    head = make_head(1.0, smoothing=eps)
    assert loss_of(head, samples(scores=scores)) == pytest.approx(
        reference_loss(np.array(targets), 1.0), rel=1e-5)


def test_bounded_form_before_any_update_is_label_smoothing():
    """S = I: eps spread over the C - 1 other classes, which is MMPretrain's
    LabelSmoothLoss ('original' mode) with eps * C / (C - 1)."""
    from mmpretrain.models.losses import LabelSmoothLoss
    eps = 0.1
    head = COLAMHead(3, 4, temperature=1.0, smoothing=eps)
    head.set_soft_labels(torch.eye(3))
    labels = np.array([0, 1, 2, 1])
    ls = LabelSmoothLoss(label_smooth_val=eps * 3 / 2, mode='original')
    expected = ls(torch.tensor(LOGITS, dtype=torch.float32),
                  torch.tensor(labels))
    assert loss_of(head, samples(labels)) == pytest.approx(
        expected.item(), rel=1e-5)


def test_paper_switch_is_eq4_exactly():
    """target='paper', hard_label_weight=0: -sum_j (y S)_j log softmax(z/T)."""
    labels = np.array([2, 0, 1, 1])
    head = make_head(2.0, smoothing=None)
    assert loss_of(head, samples(labels)) == pytest.approx(
        reference_loss(S[labels], 2.0), rel=1e-6)


@pytest.mark.parametrize('target, implied', [
    ('bounded', dict(keep_true_class_top=True, label_temperature=2.0)),
    ('paper', dict(keep_true_class_top=False, label_temperature=1.5)),
])
def test_the_form_sets_the_hooks_update_defaults(target, implied):
    assert COLAMHead(3, 4, target=target,
                     temperature=1.5).update_settings() == implied


def test_true_class_mass_of_the_training_targets():
    labels = torch.arange(3)
    for head in (make_head(hard_label_weight=0.3), make_head(smoothing=0.2)):
        targets = head.soft_targets(labels).double()
        assert head.true_class_mass() == pytest.approx(
            targets.diagonal().mean().item(), rel=1e-6)
    assert make_head(hard_label_weight=0.3).true_class_mass() == \
        pytest.approx(0.3 + 0.7 * np.diag(S).mean(), rel=1e-6)


def test_misled_classes_are_those_whose_target_tops_another_class():
    table = torch.tensor([[0.2, 0.5, 0.3], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])
    paper = COLAMHead(3, 4, target='paper')
    paper.set_soft_labels(table)
    assert paper.misled_classes() == [0]
    # a = 0.5: row 0's target is [0.6, 0.25, 0.15], its own class on top.
    weighted = COLAMHead(3, 4, target='paper', hard_label_weight=0.5)
    weighted.set_soft_labels(table)
    assert weighted.misled_classes() == []
    bounded = COLAMHead(3, 4)
    bounded.set_soft_labels(table)
    assert bounded.misled_classes() == []
