"""Soft-label history files: the table always, a heatmap only while it is
readable and cheap."""
import os

import numpy as np
import pytest

from mmcolam.analysis import soft_label_evolution
from mmcolam.models.heads import COLAMHead
from mmcolam.soft_label_history import (HEATMAP_MAX_CLASSES, load_table,
                                        save_soft_label_history)


def test_small_table_gets_npy_and_heatmap(tmp_path):
    table = np.full((4, 4), 0.25, dtype=np.float32)
    writer = save_soft_label_history(str(tmp_path), 'epoch_1', table)
    writer.join()
    np.testing.assert_array_equal(np.load(tmp_path / 'epoch_1.npy'), table)
    assert os.path.getsize(tmp_path / 'epoch_1.png') > 0


def test_no_heatmap_above_the_class_limit(tmp_path):
    num_classes = HEATMAP_MAX_CLASSES + 1
    table = np.eye(num_classes, dtype=np.float32)
    assert save_soft_label_history(str(tmp_path), 'epoch_1', table) is None
    assert sorted(os.listdir(tmp_path)) == ['epoch_1.npy']


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
