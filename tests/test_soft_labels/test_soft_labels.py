"""The soft-label math against independent numpy computations."""
import numpy as np
import pytest
import torch
from mmpretrain.models.utils.batch_augments import CutMix, Mixup

from mmcolam.soft_labels import (PeerStatistics, check_soft_label_table,
                                 colam_targets, draw_peers, soft_label_summary,
                                 soft_labels_from_statistics)


def np_softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


LOGITS = np.array([
    [4.0, 1.0, 0.5],  # class 0
    [3.0, 2.0, -1.0],  # class 0
    [0.2, 2.5, 0.1],  # class 1
    [1.0, 3.5, 0.0],  # class 1
    [0.0, 1.0, 2.0],  # class 2
    [-1.0, 0.5, 5.0],  # class 2
    [2.0, 0.0, 1.0],  # class 2, misclassified
])
LABELS = np.array([0, 0, 1, 1, 2, 2, 2])


def statistics(statistic='logits', only_correct=False, logits=LOGITS,
               labels=LABELS):
    stats = PeerStatistics(3, statistic, only_correct)
    # Two batches, as a peer pass delivers them.
    stats.update(torch.tensor(logits[:4]), torch.tensor(labels[:4]))
    stats.update(torch.tensor(logits[4:]), torch.tensor(labels[4:]))
    return stats


def test_update_is_softmax_of_class_mean_logits_over_t():
    temperature = 2.0
    table, report = soft_labels_from_statistics(
        statistics(), torch.eye(3), temperature, keep_true_class_top=False)
    expected = np.stack([
        np_softmax(LOGITS[LABELS == c].mean(axis=0) / temperature)
        for c in range(3)
    ])
    # e.g. class 0: mean logits (3.5, 1.5, -0.25) / 2 -> softmax
    np.testing.assert_allclose(
        expected[0], np_softmax(np.array([1.75, 0.75, -0.125])))
    np.testing.assert_allclose(table.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(table.sum(1).numpy(), 1, rtol=1e-6)
    assert not any(mask.any() for mask in report.values())


def test_statistics_are_float32_sums_and_counts():
    stats = statistics()
    np.testing.assert_allclose(stats.counts.numpy(), [2, 2, 3])
    np.testing.assert_allclose(stats.sums[2].numpy(),
                               LOGITS[4:].sum(axis=0), rtol=1e-6)
    half = PeerStatistics(3)
    half.update(torch.tensor(LOGITS, dtype=torch.bfloat16),
                torch.tensor(LABELS))
    assert half.table.dtype == torch.float32


def test_probs_statistic_is_normalised_mean_probability():
    table, _ = soft_labels_from_statistics(
        statistics('probs'), torch.eye(3), temperature=5.0,
        keep_true_class_top=False)
    probs = np_softmax(LOGITS)
    expected = np.stack(
        [probs[LABELS == c].mean(axis=0) for c in range(3)])
    np.testing.assert_allclose(table.numpy(), expected, rtol=1e-5)


def test_only_correct_ignores_misclassified_peers():
    stats = statistics(only_correct=True)
    np.testing.assert_allclose(stats.counts.numpy(), [2, 2, 2])
    table, _ = soft_labels_from_statistics(stats, torch.eye(3), 1.0)
    np.testing.assert_allclose(
        table[2].numpy(), np_softmax(LOGITS[4:6].mean(axis=0)), rtol=1e-6)


def test_mixed_scores_weight_their_classes():
    scores = torch.tensor([[0.7, 0.3, 0.0], [0.0, 0.0, 1.0]])
    logits = torch.tensor([[2.0, 0.0, 1.0], [0.0, 1.0, 3.0]])
    stats = PeerStatistics(3)
    stats.update(logits, scores)
    np.testing.assert_allclose(stats.counts.numpy(), [0.7, 0.3, 1.0])
    np.testing.assert_allclose(stats.sums[1].numpy(), [0.6, 0.0, 0.3],
                               rtol=1e-6)


def test_guard_keeps_rows_whose_true_class_is_not_top():
    logits = np.array([[0.0, 3.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 3.0]])
    labels = np.array([0, 1, 2])
    previous = torch.tensor([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1],
                             [0.1, 0.1, 0.8]])
    stats = statistics(logits=logits, labels=labels)
    guarded, report = soft_labels_from_statistics(stats, previous, 1.0)
    assert report['true_class_not_top'].tolist() == [True, False, False]
    np.testing.assert_allclose(guarded[0].numpy(), [0.8, 0.1, 0.1])
    np.testing.assert_allclose(guarded[1].numpy(), np_softmax(logits[1]),
                               rtol=1e-6)
    # The paper's behaviour: the wrong row is taken as it is.
    paper, report = soft_labels_from_statistics(
        stats, previous, 1.0, keep_true_class_top=False)
    np.testing.assert_allclose(paper[0].numpy(), np_softmax(logits[0]),
                               rtol=1e-6)
    assert not report['true_class_not_top'].any()


def test_class_without_peers_keeps_previous_row():
    stats = statistics(logits=LOGITS[:4], labels=LABELS[:4])
    previous = torch.eye(3)
    table, report = soft_labels_from_statistics(stats, previous, 1.0)
    assert report['no_peers'].tolist() == [False, False, True]
    np.testing.assert_array_equal(table[2].numpy(), [0, 0, 1])


def test_class_without_peers_gets_uniform_row_with_empty_rows_uniform():
    """OLS's rule: a class with no correctly classified sample gets 1/C;
    the others are updated as with 'keep'."""
    previous = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1],
                             [0.2, 0.2, 0.6]])
    stats = statistics('probs', only_correct=True,
                       logits=LOGITS[[0, 1, 4, 5]], labels=LABELS[[0, 1, 4,
                                                                   5]])
    kept, report = soft_labels_from_statistics(stats, previous, 1.0)
    table, report = soft_labels_from_statistics(
        stats, previous, 1.0, empty_rows='uniform')
    np.testing.assert_allclose(table[1].numpy(), [1 / 3] * 3)
    np.testing.assert_array_equal(kept[1].numpy(), previous[1].numpy())
    np.testing.assert_array_equal(table[[0, 2]].numpy(),
                                  kept[[0, 2]].numpy())
    assert report['uniform'].tolist() == [False, True, False]
    assert 'no_peers' not in report
    with pytest.raises(ValueError, match="empty_rows.*'keep', 'uniform'"):
        soft_labels_from_statistics(stats, previous, 1.0, empty_rows='zero')


def test_zero_rows_pass_the_table_check_only_when_allowed():
    table = torch.tensor([[0.0, 0.0], [0.3, 0.7]])
    check_soft_label_table(table, 'start', allow_zero_rows=True)
    with pytest.raises(ValueError, match=r'start .* rows \[0\]'):
        check_soft_label_table(table, 'start')
    with pytest.raises(ValueError, match=r'rows \[0\]'):
        check_soft_label_table(torch.tensor([[0.0, 0.5], [0.3, 0.7]]),
                               'start', allow_zero_rows=True)


def test_class_whose_peers_are_all_nonfinite_is_reported_as_such():
    logits = LOGITS.copy()
    logits[LABELS == 1] = float('nan')
    stats = statistics(logits=logits)
    assert stats.counts[1] == 0
    table, report = soft_labels_from_statistics(stats, torch.eye(3), 2.0)
    assert report['nonfinite'].tolist() == [False, True, False]
    assert not report['no_peers'].any()
    np.testing.assert_array_equal(table[1].numpy(), [0, 1, 0])


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_nonfinite_peer_keeps_only_its_class_row(bad):
    logits = LOGITS.copy()
    logits[2, 1] = bad  # a class-1 peer
    stats = statistics(logits=logits)
    table, report = soft_labels_from_statistics(stats, torch.eye(3), 2.0)
    assert report['nonfinite'].tolist() == [False, True, False]
    np.testing.assert_array_equal(table[1].numpy(), [0, 1, 0])
    assert not report['no_peers'].any()
    # The other classes are untouched by the bad value.
    np.testing.assert_allclose(
        table[0].numpy(), np_softmax(LOGITS[:2].mean(axis=0) / 2), rtol=1e-6)
    assert torch.isfinite(table).all()


def test_momentum_blends_with_previous_table():
    previous = torch.full((3, 3), 1 / 3) * 0.5 + torch.eye(3) * 0.5
    plain, _ = soft_labels_from_statistics(statistics(), previous, 1.0)
    blended, _ = soft_labels_from_statistics(
        statistics(), previous, 1.0, momentum=0.25)
    np.testing.assert_allclose(
        blended.numpy(), 0.25 * previous.numpy() + 0.75 * plain.numpy(),
        rtol=1e-6)


def test_summary_entropy_and_true_class_mass():
    table = torch.tensor([[0.5, 0.5], [0.0, 1.0]])
    summary = soft_label_summary(table)
    assert summary['mean_entropy'] == pytest.approx(np.log(2) / 2)
    assert summary['true_class_mass'] == pytest.approx(0.75)


def test_draw_peers_takes_k_random_samples_per_class_reproducibly():
    labels = np.repeat(np.arange(4), [10, 3, 0, 7])
    np.random.default_rng(1).shuffle(labels)
    peers = draw_peers(labels, 4, 5, seed=[0, 3])
    counts = np.bincount(labels[peers], minlength=4)
    assert counts.tolist() == [5, 3, 0, 5]
    assert len(set(peers.tolist())) == len(peers)
    np.testing.assert_array_equal(peers, draw_peers(labels, 4, 5, [0, 3]))
    assert not np.array_equal(peers, draw_peers(labels, 4, 5, [0, 6]))
    everyone = draw_peers(labels, 4, None, seed=0)
    assert sorted(everyone.tolist()) == list(range(len(labels)))


def test_bad_statistic_is_rejected_with_choices():
    with pytest.raises(ValueError, match=r"statistic='mean'.*'logits'"):
        PeerStatistics(3, 'mean')


def test_hard_label_sums_against_a_loop_at_many_classes():
    """index_add_ for hard labels (no C x C x N one-hot product) gives each
    class the sum of its samples' logits, counted by a plain loop."""
    generator = torch.Generator().manual_seed(0)
    num_classes = 300
    logits = torch.randn(64, num_classes, generator=generator)
    labels = torch.randint(0, num_classes, (64, ), generator=generator)
    stats = PeerStatistics(num_classes)
    stats.update(logits, labels)
    sums = np.zeros((num_classes, num_classes))
    counts = np.zeros(num_classes)
    for x, c in zip(logits.numpy(), labels.numpy()):
        sums[c] += x
        counts[c] += 1
    np.testing.assert_allclose(stats.sums.numpy(), sums, rtol=1e-6,
                               atol=1e-6)
    np.testing.assert_array_equal(stats.counts.numpy(), counts)


def test_in_place_block_update_matches_numpy():
    # 37 classes: blocks of 3 rows, the last one shorter; guard and momentum.
    rng = np.random.default_rng(0)
    num_classes = 37
    logits = rng.normal(size=(300, num_classes)) * 3
    labels = rng.integers(0, num_classes - 1, 300)  # the last class: none
    # Even classes' peers score their own class higher: their rows pass the
    # guard and are blended; odd classes' rows are (mostly) kept.
    logits[np.arange(300), labels] += 6.0 * (labels % 2 == 0)
    previous = rng.dirichlet(np.ones(num_classes), num_classes)
    stats = PeerStatistics(num_classes)
    stats.update(torch.tensor(logits), torch.tensor(labels))
    table = torch.tensor(previous, dtype=torch.float32)
    out, report = soft_labels_from_statistics(stats, table, 2.0,
                                              momentum=0.3, out=table)
    assert out is table
    expected = previous.copy()
    updated = 0
    for c in range(num_classes - 1):
        row = np_softmax(logits[labels == c].mean(axis=0) / 2)
        if row.argmax() == c:
            expected[c] = 0.3 * previous[c] + 0.7 * row
            updated += 1
        else:
            assert report['true_class_not_top'][c]
    # Both branches are taken, many times each.
    assert updated >= 10 and report['true_class_not_top'].sum() >= 10
    assert report['no_peers'].tolist() == [False] * 36 + [True]
    np.testing.assert_allclose(table.numpy(), expected, rtol=1e-5,
                               atol=1e-7)


def test_dense_label_scores_weight_every_class():
    rng = np.random.default_rng(1)
    scores = rng.dirichlet(np.ones(5), 8)  # every weight non-zero
    logits = rng.normal(size=(8, 5))
    stats = PeerStatistics(5)
    stats.update(torch.tensor(logits), torch.tensor(scores))
    np.testing.assert_allclose(stats.sums.numpy(), scores.T @ logits,
                               rtol=1e-5)
    np.testing.assert_allclose(stats.counts.numpy(), scores.sum(0),
                               rtol=1e-5)


def dense_targets(scores, table, smoothing=None, hard_label_weight=0.0):
    """COLAM's targets as the dense product, in float64: ``a y + (1 - a) y
    @ S``, or ``(1 - eps) y + eps y @ O`` (``O``: ``S`` without its
    diagonal, rows renormalised; uniform where nothing is left)."""
    num_classes = len(table)
    if smoothing is None:
        return (hard_label_weight * scores +
                (1 - hard_label_weight) * scores @ table)
    others = 1 - np.eye(num_classes)
    off = table * others
    total = off.sum(1, keepdims=True)
    rows = np.where(total > 0, off / np.where(total > 0, total, 1),
                    others / (num_classes - 1))
    return (1 - smoothing) * scores + smoothing * scores @ rows


@pytest.mark.parametrize('form', [
    dict(smoothing=0.1),
    dict(smoothing=None),
    dict(smoothing=None, hard_label_weight=0.3),
])
@pytest.mark.parametrize('labels_from',
                         ['hard', 'mixup', 'cutmix', 'label_smoothing'])
def test_targets_equal_the_dense_product(form, labels_from):
    """Hard labels and MMPretrain's own Mixup and CutMix scores (at most two
    classes a row) against the dense product: equal to float rounding, and
    read from the rows of the batch's classes alone (every other row of S
    is NaN); label-smoothed scores (every class) take the dense product."""
    num_classes, batch = 50, 32
    rng = np.random.default_rng(0)
    table = np_softmax(rng.normal(scale=2.0, size=(num_classes, num_classes)))
    table[3] = np.eye(num_classes)[3]  # nothing off the diagonal: uniform O
    classes = rng.integers(num_classes, size=batch)
    classes[:2] = 3
    one_hot = np.eye(num_classes)[classes]
    labels = torch.tensor(classes)
    if labels_from in ('mixup', 'cutmix'):
        augment = (Mixup if labels_from == 'mixup' else CutMix)(alpha=1.0)
        np.random.seed(0)
        torch.manual_seed(0)
        _, labels = augment(torch.zeros(batch, 3, 8, 8),
                            torch.tensor(one_hot))
        assert (labels != 0).sum(1).max() == 2
    elif labels_from == 'label_smoothing':
        labels = torch.tensor(0.9 * one_hot + 0.1 / num_classes)
    scores = one_hot if labels_from == 'hard' else labels.double().numpy()
    expected = dense_targets(scores, table, **form)

    used = np.unique(np.nonzero(scores)[1])
    given = torch.tensor(table, dtype=torch.float32)
    if labels_from != 'label_smoothing':
        unused = np.setdiff1d(np.arange(num_classes), used)
        given[unused] = float('nan')
    targets = colam_targets(labels, given, **form)
    assert targets.dtype == torch.float32
    np.testing.assert_allclose(targets.numpy(), expected, rtol=2e-6,
                               atol=1e-9)
    np.testing.assert_allclose(targets.sum(1).numpy(), 1, rtol=1e-6)


def test_guard_asks_for_the_top_class_not_for_half_the_mass():
    """A row whose own class is on top with less than half the mass
    ([0.4, 0.3, 0.3]) is taken; one whose own class is not on top is not."""
    own_top = np.log([0.4, 0.3, 0.3])  # softmax of these logits at T 1
    not_top = np.log([0.45, 0.3, 0.25])
    stats = PeerStatistics(3)
    stats.update(torch.tensor(np.stack([own_top, not_top, own_top[::-1]])),
                 torch.tensor([0, 1, 2]))
    previous = torch.eye(3, dtype=torch.float64)
    table, report = soft_labels_from_statistics(stats, previous, 1.0)
    assert report['true_class_not_top'].tolist() == [False, True, False]
    np.testing.assert_allclose(table[0].numpy(), [0.4, 0.3, 0.3])
    np.testing.assert_allclose(table[2].numpy(), [0.3, 0.3, 0.4])
    np.testing.assert_array_equal(table[1].numpy(), [0, 1, 0])
