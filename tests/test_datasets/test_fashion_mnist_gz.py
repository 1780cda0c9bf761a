"""FashionMNISTGz: a config reads Fashion-MNIST from its .gz files with no
preparation step."""
import gzip
import os

import numpy as np
import pytest
from mmpretrain.registry import DATASETS

import mmcolam  # noqa: F401
from mmcolam.datasets.fashion_mnist import FILES
from tests.helpers.fake_data import write_fashion_mnist


def gzip_only(src, dst):
    """Copy the unpacked IDX files of ``src`` to ``dst`` as .gz only."""
    os.makedirs(dst)
    for name in FILES:
        with open(os.path.join(src, name), 'rb') as f, gzip.open(
                os.path.join(dst, name + '.gz'), 'wb') as g:
            g.write(f.read())


@pytest.mark.parametrize('where', ['data_root', 'gz_dir'])
def test_reads_the_gz_files_from_data_root_or_gz_dir(tmp_path, where):
    plain = write_fashion_mnist(str(tmp_path / 'plain'), num_train=60)
    packed = str(tmp_path / 'packed')
    gzip_only(plain, packed)
    root = packed if where == 'data_root' else str(tmp_path / 'root')
    dataset = DATASETS.build(dict(
        type='FashionMNISTGz', data_root=root, gz_dir=packed, pipeline=[]))
    reference = DATASETS.build(dict(
        type='FashionMNIST', data_root=plain, pipeline=[]))
    assert len(dataset) == len(reference) == 60
    np.testing.assert_array_equal(dataset.get_gt_labels(),
                                  reference.get_gt_labels())
    np.testing.assert_array_equal(dataset.get_data_info(5)['img'],
                                  reference.get_data_info(5)['img'])


def test_split_test_reads_the_test_files(tmp_path):
    root = write_fashion_mnist(str(tmp_path / 'plain'), num_train=60,
                               num_test=40)
    train, test = (DATASETS.build(dict(
        type='FashionMNISTGz', data_root=root, split=split, pipeline=[]))
        for split in ('train', 'test'))
    assert (len(train), len(test)) == (60, 40)
    reference = DATASETS.build(dict(
        type='FashionMNIST', data_root=root, split='test', test_mode=True,
        pipeline=[]))
    np.testing.assert_array_equal(test.get_gt_labels(),
                                  reference.get_gt_labels())
    np.testing.assert_array_equal(test.get_data_info(3)['img'],
                                  reference.get_data_info(3)['img'])
    with pytest.raises(ValueError, match="split='test' with test_mode=False"):
        DATASETS.build(dict(type='FashionMNISTGz', data_root=root,
                            split='test', test_mode=False, pipeline=[]))


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match='train-images-idx3-ubyte.gz is in neither'):
        DATASETS.build(dict(type='FashionMNISTGz',
                            data_root=str(tmp_path / 'empty'),
                            gz_dir=str(tmp_path / 'none'), pipeline=[]))
