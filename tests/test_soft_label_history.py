"""Soft-label history files: the table always, a heatmap only while it is
readable and cheap."""
import os

import numpy as np
import pytest
import torch

from mmcolam.analysis import soft_label_evolution
from mmcolam.models.heads import COLAMHead
from mmcolam.soft_label_history import (FULL_HISTORY_MAX_CLASSES,
                                        HEATMAP_MAX_CLASSES, HISTORY_TOP_K,
                                        load_table, save_soft_label_history)


def test_small_table_gets_npy_and_heatmap(tmp_path):
    table = torch.full((4, 4), 0.25)
    writer = save_soft_label_history(str(tmp_path), 'epoch_1', table)
    writer.join()
    np.testing.assert_array_equal(np.load(tmp_path / 'epoch_1.npy'),
                                  table.numpy())
    assert os.path.getsize(tmp_path / 'epoch_1.png') > 0


def test_no_heatmap_above_the_class_limit(tmp_path):
    num_classes = HEATMAP_MAX_CLASSES + 1
    table = torch.eye(num_classes)
    assert save_soft_label_history(str(tmp_path), 'epoch_1', table) is None
    assert sorted(os.listdir(tmp_path)) == ['epoch_1.npy']


def test_top_entries_only_above_the_full_history_limit(tmp_path):
    num_classes = FULL_HISTORY_MAX_CLASSES + 1
    generator = torch.Generator().manual_seed(0)
    table = torch.rand(num_classes, num_classes, generator=generator)
    table /= table.sum(1, keepdim=True)
    assert save_soft_label_history(str(tmp_path), 'iter_5', table) is None
    name = f'iter_5_top{HISTORY_TOP_K}.npz'
    assert sorted(os.listdir(tmp_path)) == [name]
    saved = np.load(tmp_path / name)
    # Against numpy's sort of every row, largest first.
    expected = np.sort(table.numpy(), axis=1)[:, ::-1][:, :HISTORY_TOP_K]
    np.testing.assert_array_equal(saved['values'], expected)
    np.testing.assert_array_equal(
        np.take_along_axis(table.numpy(), saved['indices'], axis=1),
        expected)
    assert saved['indices'].dtype == np.int32
    # 8 bytes an entry kept, against 4 C^2 bytes for the full table.
    assert saved['values'].nbytes + saved['indices'].nbytes == \
        8 * HISTORY_TOP_K * num_classes
    with pytest.raises(FileNotFoundError, match='top entries'):
        soft_label_evolution.load_soft_label_history(str(tmp_path))


@pytest.mark.parametrize('content, pattern', [
    ('truncated', 'not a readable .npy file'),
    ('npz', r'several arrays \(.npz\)'),
    ('complex', 'complex128 values'),
])
def test_broken_table_files_are_named(tmp_path, content, pattern):
    path = tmp_path / 'epoch_1.npy'
    table = np.full((3, 3), 1 / 3)
    if content == 'truncated':
        np.save(path, table)
        path.write_bytes(path.read_bytes()[:100])
    elif content == 'npz':
        with open(path, 'wb') as f:
            np.savez(f, a=table, b=table)
    else:
        np.save(path, table.astype(np.complex128))
    with pytest.raises(ValueError, match=f'epoch_1.npy.*{pattern}'):
        load_table(str(path))
    # Both readers of such files go through it.
    with pytest.raises(ValueError, match=pattern):
        COLAMHead(3, 4, soft_label_file=str(path))
    with pytest.raises(ValueError, match=pattern):
        soft_label_evolution.load_soft_label_history(str(tmp_path))
