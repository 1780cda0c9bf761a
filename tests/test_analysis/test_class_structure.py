"""tools/analysis_tools/class_structure_bound.py and its arithmetic: the
confusion table, rank correlations with ties, and a tiny end-to-end run
whose table is the hard-label run's validation confusion."""
import json

import numpy as np
import pytest
from mmengine.runner import CheckpointLoader

from mmcolam.analysis import class_structure as S
from mmcolam.datasets import class_balanced_subset
from tests.helpers.fake_data import write_fashion_mnist
from tests.helpers.tool_runs import load_tool


def test_confusion_table_against_hand_computation():
    confusion = [[5, 3, 1], [0, 4, 0], [2, 2, 6]]
    np.testing.assert_allclose(
        S.confusion_table(confusion),
        [[0, 0.75, 0.25], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    np.testing.assert_allclose(S.uniform_table(3),
                               [[0, .5, .5], [.5, 0, .5], [.5, .5, 0]])


def test_rank_correlation_with_and_without_ties():
    np.testing.assert_allclose(S.average_ranks([10, 20, 20, 5]),
                               [2, 3.5, 3.5, 1])
    # No ties: 1 - 6 * sum(d^2) / (n (n^2 - 1)) = 1 - 6 * 2 / 60.
    assert S.rank_correlation([1, 2, 3, 4], [1, 3, 2, 4]) == \
        pytest.approx(0.8)
    # Ties: Pearson of ranks [1, 2.5, 2.5, 4] and [1, 2, 3, 4]:
    # 4.5 / sqrt(4.5 * 5).
    assert S.rank_correlation([1, 2, 2, 3], [1, 2, 3, 4]) == \
        pytest.approx(4.5 / np.sqrt(4.5 * 5))
    assert np.isnan(S.rank_correlation([1, 1, 1], [1, 2, 3]))
    np.testing.assert_array_equal(
        S.off_diagonal(np.arange(9).reshape(3, 3)), [1, 2, 3, 5, 6, 7])


def test_history_correlations_in_training_order(tmp_path):
    confusion = np.array([[0, 3, 1], [2, 0, 0], [1, 5, 0]])
    np.save(tmp_path / 'epoch_10.npy', confusion.astype(float))
    np.save(tmp_path / 'epoch_2.npy', confusion.T.astype(float))
    rows = S.history_correlations(str(tmp_path), confusion)
    assert [row[0] for row in rows] == ['epoch_2', 'epoch_10']
    assert rows[1][1] == pytest.approx(1.0)
    assert rows[0][1] == pytest.approx(S.rank_correlation(
        S.off_diagonal(confusion.T), S.off_diagonal(confusion)))
    # Rows without their own class, renormalised: [0, .75, .25], [1, 0, 0],
    # [1/6, 5/6, 0]: largest entries .75, 1, 5/6.
    assert rows[1][2] == pytest.approx((0.75 + 1 + 5 / 6) / 3)


def test_top_share_of_uniform_and_hard_tables():
    assert S.top_share(np.eye(5)) == pytest.approx(0.25)  # uniform O
    assert S.top_share(S.uniform_table(5)) == pytest.approx(0.25)


def test_class_balanced_subset():
    labels = np.repeat([0, 1, 2], [5, 4, 6])  # stored class by class
    subset = class_balanced_subset(labels, 9, seed=3)
    assert np.bincount(labels[subset]).tolist() == [3, 3, 3]
    np.testing.assert_array_equal(subset, np.sort(subset))
    np.testing.assert_array_equal(subset,
                                  class_balanced_subset(labels, 9, seed=3))
    with pytest.raises(ValueError, match='size=10 must be a multiple'):
        class_balanced_subset(labels, 10)
    with pytest.raises(ValueError, match='size=15'):
        class_balanced_subset(labels, 15)  # class 1 has only 4


def test_tiny_bound_end_to_end(tmp_path):
    """The regime study trains hl and colam, then the bound tool reuses
    them: its table is the hl run's validation confusion, the table runs
    trained against it, and the report pairs them and ranks COLAM's S."""
    data_root = write_fashion_mnist(str(tmp_path / 'fm'), num_train=300)
    options = [
        '--cfg-options', 'train_cfg.max_epochs=4',
        'train_dataloader.batch_size=50',
        f'train_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}'
    ]
    work_dir = tmp_path / 'study'
    load_tool('analysis_tools/regime_study').main([
        '--networks', 'smallconvnet', '--sizes', '100', '--methods', 'hl',
        'colam', '--seeds', '0', '1', '--val-size', '50', '--jobs', '1',
        '--work-dir', str(work_dir), *options
    ])
    text = load_tool('analysis_tools/class_structure_bound').main([
        '--dataset', 'fashion-mnist', '--network', 'smallconvnet', '--size',
        '100', '--seeds', '0', '1', '--val-size', '50', '--jobs', '1',
        '--work-dir', str(work_dir), *options
    ])
    results = json.load(open(work_dir / 'results.json'))
    assert sorted((r['method'], r['seed']) for r in results) == [
        (m, s) for m in ('colam', 'confusion-table', 'hl', 'uniform-table')
        for s in (0, 1)
    ]
    hl = next(r for r in results if r['method'] == 'hl' and r['seed'] == 0)
    confusion = np.array(hl['val_confusion'])
    assert confusion.sum() == 50  # every validation image, once
    assert np.trace(confusion) == pytest.approx(hl['val_accuracy'] / 2)
    table = np.load(work_dir / 'confusion_table.npy')
    np.testing.assert_array_equal(table, S.confusion_table(confusion))
    checkpoint = CheckpointLoader.load_checkpoint(
        str(work_dir / 'smallconvnet_100' / 'confusion-table' / 'seed_1' /
        'epoch_4.pth'), map_location='cpu')
    np.testing.assert_allclose(
        checkpoint['state_dict']['head.soft_labels'].numpy(), table,
        rtol=1e-6)
    assert '| confusion-table − uniform-table (pp), wins' in text
    assert '| colam S | epoch_3 |' in text and 'top share of O' in text
    assert (work_dir / 'class_structure_bound.png').stat().st_size > 0
