"""Test-only CIFAR datasets that skip MMPretrain's md5 check.

MMPretrain's ``CIFAR10``/``CIFAR100`` compare the md5 sum of every batch file
with the published one, which the small fake CIFAR of
``fake_data.write_cifar`` cannot match. These subclasses keep everything but
the sums (the files must still exist), so tests can train on the fake data;
users' configs keep ``CIFAR10``/``CIFAR100`` and their check.

Use them by dotted path, which MMEngine's registry imports on demand, with
the repository on ``PYTHONPATH``, e.g. ``--cfg-options
train_dataloader.dataset.type=tests.helpers.unchecked_cifar.UncheckedCIFAR10``;
importing this module also registers them as ``UncheckedCIFAR10`` and
``UncheckedCIFAR100`` (tests/test_configs/test_config_training.py does both).
"""
from mmpretrain.datasets import CIFAR10, CIFAR100
from mmpretrain.registry import DATASETS


def _without_md5(file_list):
    return [[name, None] for name, _ in file_list]


@DATASETS.register_module(force=True)
class UncheckedCIFAR10(CIFAR10):
    """:class:`CIFAR10` without the md5 check, for tests only."""
    train_list = _without_md5(CIFAR10.train_list)
    test_list = _without_md5(CIFAR10.test_list)
    meta = dict(CIFAR10.meta, md5=None)


@DATASETS.register_module(force=True)
class UncheckedCIFAR100(CIFAR100):
    """:class:`CIFAR100` without the md5 check, for tests only."""
    train_list = _without_md5(CIFAR100.train_list)
    test_list = _without_md5(CIFAR100.test_list)
    meta = dict(CIFAR100.meta, md5=None)
