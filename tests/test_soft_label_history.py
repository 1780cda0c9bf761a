"""Soft-label history files: the table always, a heatmap only while it is
readable and cheap."""
import os

import numpy as np

from mmcolam.soft_label_history import (HEATMAP_MAX_CLASSES,
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
