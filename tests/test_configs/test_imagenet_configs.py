"""The ImageNet configs on a tiny fake ImageNet in MMPretrain's on-disk
layouts (class folders of JPEGs; flat JPEGs with meta/val.txt), and the
README's command for the paper's ResNet-50 run, as written, on 2 gloo
processes."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import DATASETS

import mmcolam  # noqa: F401
from tests.helpers.fake_data import write_imagenet
from tests.helpers.tool_runs import REPO, TOOLS, run_tool

IMAGENET_CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs', '*', '*_in1k.py')) +
    [osp.join(REPO, 'configs', 'colam', 'resnet50_imagenet.py')])
USED_CLASSES, PER_CLASS = 4, 2


@pytest.fixture(scope='module')
def imagenet(tmp_path_factory):
    return write_imagenet(
        str(tmp_path_factory.mktemp('imagenet')),
        used_classes=USED_CLASSES, per_class=PER_CLASS)


@pytest.mark.parametrize(
    'config', IMAGENET_CONFIGS, ids=lambda p: osp.basename(p)[:-3])
def test_imagenet_config_reads_both_layouts(config, imagenet):
    cfg = Config.fromfile(config)
    assert cfg.train_dataloader.dataset.data_root == 'data/imagenet'
    expected = np.repeat(np.arange(USED_CLASSES), PER_CLASS)
    for loader in ('train_dataloader', 'val_dataloader'):
        dataset_cfg = cfg[loader].dataset
        dataset_cfg.data_root = imagenet
        dataset = DATASETS.build(dataset_cfg)
        assert len(dataset.metainfo['classes']) == 1000
        np.testing.assert_array_equal(dataset.get_gt_labels(), expected)
        # Through the config's own pipeline: a 224 x 224 colour crop.
        sample = dataset[0]
        assert sample['inputs'].shape == (3, 224, 224)
        assert sample['data_samples'].gt_label.item() in range(USED_CLASSES)


def test_documented_command_trains_on_two_gloo_processes(imagenet, tmp_path):
    work_dir = tmp_path / 'work_dir'
    options = [
        'env_cfg.dist_cfg.backend=gloo',
        'train_cfg.max_epochs=2', 'custom_hooks.0.interval=1',
        'train_dataloader.batch_size=2', 'val_dataloader.batch_size=4',
        'test_dataloader.batch_size=4',
        # 32-pixel crops keep ResNet-50 cheap on CPU; the transforms are the
        # configs' own.
        'train_dataloader.dataset.pipeline.1.scale=32',
    ]
    for loader in ('train', 'val', 'test'):
        options.append(f'{loader}_dataloader.dataset.data_root={imagenet}')
    for loader in ('val', 'test'):
        options += [f'{loader}_dataloader.dataset.pipeline.1.scale=36',
                    f'{loader}_dataloader.dataset.pipeline.2.crop_size=32']
    log = tmp_path / 'train.log'
    run_tool([
        'bash', osp.join(TOOLS, 'dist_train.sh'),
        'configs/colam/resnet50_imagenet.py', 2, '--work-dir', work_dir,
        '--cfg-options', *options
    ], log, timeout=400)
    text = log.read_text()
    assert 'Distributed training: True' in text
    assert 'GPU number: 2' in text  # MMEngine's name for the world size
    # 8 images, 2 ranks x 2 images a batch: 2 iterations an epoch.
    assert 'Epoch(train) [1][2/2]' in text
    assert 'SoftLabelHook: soft labels after epoch 1' in text
    table = np.load(work_dir / 'soft_labels' / 'epoch_1.npy')
    assert table.shape == (1000, 1000)
    # Classes with images got new rows (the paper's form: no guard); the
    # others, without peers, keep their hard labels.
    assert not np.allclose(table[:USED_CLASSES],
                           np.eye(1000)[:USED_CLASSES])
    np.testing.assert_array_equal(table[USED_CLASSES:],
                                  np.eye(1000)[USED_CLASSES:])
    checkpoint = torch.load(work_dir / 'epoch_2.pth', weights_only=False)
    assert checkpoint['meta']['epoch'] == 2
    np.testing.assert_array_equal(
        checkpoint['state_dict']['head.soft_labels'].numpy(), table)
