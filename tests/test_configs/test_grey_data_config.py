"""The README's grey data on an RGB config (Fashion-MNIST on MMPretrain's
CIFAR-10 ResNet-18): the model takes one channel and validation reads the
test set, and the traps it avoids are real. (tools/train.py ran it by hand:
2 epochs on 64 images, one soft-label update.)"""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmpretrain.registry import DATASETS, MODELS

import mmcolam  # noqa: F401  (COLAMHead, FashionMNISTGz)
from mmcolam.datasets import unpack_fashion_mnist
from tests.helpers.tool_runs import REPO

ROOT = REPO
DATA_ROOT = osp.join(ROOT, 'data', 'fashion_mnist')


def readme_config(path):
    """The README's config after "Grey data on an RGB config", in ``path``,
    reading Fashion-MNIST from the repository's data folder."""
    with open(osp.join(ROOT, 'README.md')) as f:
        readme = f.read()
    start = readme.index('```python\n',
                         readme.index('**Grey data on an RGB config.**'))
    code = readme[start + len('```python\n'):readme.index('```\n', start + 1)]
    path.write_text(code.replace("'data/fashion_mnist'", repr(DATA_ROOT)))
    return Config.fromfile(str(path))


def test_grey_config_trains_on_one_channel_and_validates_on_test(tmp_path):
    cfg = readme_config(tmp_path / 'grey.py')
    assert len(DATASETS.build(cfg.val_dataloader.dataset)) == 10000
    train_set = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(train_set) == 60000
    model = MODELS.build(cfg.model)
    data = model.data_preprocessor(
        pseudo_collate([train_set[i] for i in range(4)]), True)
    assert data['inputs'].shape == (4, 1, 32, 32)
    assert model(data['inputs'], mode='tensor').shape == (4, 10)


def test_without_it_grey_images_are_broadcast_and_validated_on_train(
        tmp_path):
    config = tmp_path / 'cifar.py'
    config.write_text(
        "_base_ = ['mmpretrain::resnet/resnet18_8xb16_cifar10.py']\n")
    cifar = Config.fromfile(str(config))
    preprocessor = MODELS.build(
        dict(type='ClsDataPreprocessor', **cifar.data_preprocessor))
    grey = torch.arange(28 * 28, dtype=torch.uint8).reshape(1, 28, 28)
    inputs = preprocessor(dict(inputs=[grey]), False)['inputs']
    assert inputs.shape == (1, 3, 28, 28)  # silently three channels
    unpack_fashion_mnist(DATA_ROOT)  # where MMPretrain's class reads
    val_set = DATASETS.build(
        dict(type='FashionMNIST', data_root=DATA_ROOT, split='test',
             download=False))
    assert len(val_set) == 60000  # the training files
