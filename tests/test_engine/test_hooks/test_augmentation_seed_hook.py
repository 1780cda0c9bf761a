"""AugmentationSeedHook: each sample's augmentation is the pipeline run from
generators seeded by (run seed, rank, epoch, position), whichever process
loads it; epochs differ; bad loaders are refused. (Resume after a kill, bit
for bit with augmentation: tests/test_tools/test_resume_kill.py.)"""
import copy
import hashlib
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpretrain.registry import DATASETS

from mmcolam.engine.hooks.augmentation_seed_hook import (SAMPLE, key_seed,
                                                         seed_generators)
from tests.helpers.runner_config import fashion_mnist_config

AUGMENTATION = [
    dict(type='RandomCrop', crop_size=28, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
BATCH = 20  # 10 iterations per epoch on the 200 fake images


class RecordInputs(Hook):
    """``inputs[(pass, sample index)]``: the training image as the model
    received it (uint8, before the data preprocessor)."""

    def __init__(self, iterations_per_pass):
        self.iterations_per_pass = iterations_per_pass
        self.inputs = {}

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        this_pass = runner.iter // self.iterations_per_pass
        for image, sample in zip(data_batch['inputs'],
                                 data_batch['data_samples']):
            key = (this_pass, sample.sample_idx)
            assert key not in self.inputs
            self.inputs[key] = image.clone()


def augmented_config(tmp_path, num_workers=0, persistent=False,
                     by_epoch=True, seed_hook=True):
    """Two epochs (passes) without shuffling, so that the sample at each
    position is the same in every epoch."""
    cfg = fashion_mnist_config(
        tmp_path, batch_size=BATCH,
        sampler=dict(type='DefaultSampler', shuffle=False))
    loader = cfg['train_dataloader']
    loader['dataset']['pipeline'] = copy.deepcopy(AUGMENTATION)
    loader.update(num_workers=num_workers,
                  persistent_workers=persistent)
    if not by_epoch:
        cfg['train_cfg'] = dict(by_epoch=False, max_iters=20)
        cfg['log_processor'] = dict(by_epoch=False)
    if seed_hook:
        cfg['default_hooks']['sampler_seed'] = dict(
            type='AugmentationSeedHook')
    cfg['optim_wrapper']['optimizer']['lr'] = 0.0  # the images are the point
    return cfg


def record(cfg):
    runner = Runner.from_cfg(Config(cfg))
    recorder = RecordInputs(len(runner.train_dataloader))
    runner.register_hook(recorder)
    runner.train()
    return runner, recorder.inputs


def assert_same_inputs(inputs, expected):
    assert inputs.keys() == expected.keys()
    for key, image in inputs.items():
        assert torch.equal(image, expected[key]), key


@pytest.mark.parametrize('by_epoch', [True, False], ids=['epoch', 'iter'])
def test_augmentation_is_keyed_by_position_in_any_loader(tmp_path,
                                                         by_epoch):
    """The same images with no worker, two workers restarted every epoch
    and two persistent ones; each is the pipeline run by hand from the
    sample's key; the second epoch augments every image anew."""
    runner, inputs = record(augmented_config(tmp_path / 'main',
                                             by_epoch=by_epoch))
    assert len(inputs) == 2 * 200
    workers = [(2, True)] if not by_epoch else [(2, False), (2, True)]
    for num_workers, persistent in workers:
        _, other = record(
            augmented_config(tmp_path / f'{num_workers}_{persistent}',
                             num_workers, persistent, by_epoch))
        assert_same_inputs(other, inputs)

    raw = DATASETS.build(
        dict(runner.cfg.train_dataloader.dataset,
             pipeline=AUGMENTATION))
    for this_pass, index in [(0, 0), (0, 57), (1, 3), (1, 199)]:
        # One process, no shuffling: the position in the pass is the index.
        seed_generators(key_seed(runner.seed, SAMPLE, 0, this_pass, index))
        expected = raw[index]['inputs']
        assert torch.equal(inputs[(this_pass, index)], expected)
    changed = [
        not torch.equal(inputs[(0, i)], inputs[(1, i)]) for i in range(200)
    ]
    # (4 * 2 + 1)^2 crops times 2 flips: 162 draws; a few samples repeat.
    assert sum(changed) > 190


def test_without_it_restarted_workers_repeat_their_draws(tmp_path):
    """What the hook fixes: MMEngine's worker_init_fn seeds a worker alike
    in every epoch, so workers restarted every epoch (persistent_workers
    False) give every sample the augmentation of the previous epoch."""
    _, inputs = record(
        augmented_config(tmp_path, num_workers=2, seed_hook=False))
    assert all(
        torch.equal(inputs[(0, i)], inputs[(1, i)]) for i in range(200))


def test_resume_of_a_run_without_a_seed_is_exact(tmp_path):
    """randomness.seed=None (MMPretrain's default): MMEngine builds the
    sampler with a new seed before the resumed run takes the checkpoint's;
    the hook gives the sampler the checkpoint's, so the resumed run shuffles
    and augments as the uninterrupted one."""
    cfg = fashion_mnist_config(tmp_path, batch_size=BATCH, max_epochs=3)
    cfg['train_dataloader']['dataset']['pipeline'] = copy.deepcopy(
        AUGMENTATION)
    cfg['default_hooks'].update(
        sampler_seed=dict(type='AugmentationSeedHook'),
        checkpoint=dict(type='CheckpointHook', interval=1))
    cfg['randomness'] = dict(seed=None)
    straight = Runner.from_cfg(Config(dict(cfg, experiment_name='straight')))
    straight.train()
    resumed = Runner.from_cfg(Config(dict(
        cfg, experiment_name='resumed', work_dir=str(tmp_path / 'resumed'),
        resume=True, load_from=osp.join(straight.work_dir, 'epoch_1.pth'))))
    resumed.train()
    assert resumed.seed == straight.seed
    expected = straight.model.state_dict()
    for key, value in resumed.model.state_dict().items():
        assert torch.equal(value, expected[key]), key


def test_dataset_wrapper_is_refused(tmp_path):
    cfg = augmented_config(tmp_path)
    dataset = cfg['train_dataloader']['dataset']
    cfg['train_dataloader']['dataset'] = dict(
        type='RepeatDataset', times=2, dataset=dataset)
    with pytest.raises(TypeError, match=(
            r'AugmentationSeedHook seeds the pipeline of an MMEngine '
            r'BaseDataset, but the training dataset is RepeatDataset')):
        Runner.from_cfg(Config(cfg)).train()


def test_loader_without_batch_sampler_is_refused(tmp_path):
    cfg = augmented_config(tmp_path)
    cfg['train_dataloader']['batch_size'] = None
    with pytest.raises(TypeError, match=(
            r"train_dataloader.batch_size=None and its batch sampler is "
            r'NoneType: set batch_size to an integer')):
        Runner.from_cfg(Config(cfg)).train()


def test_key_seed_is_blake2b_of_the_key():
    """The seeds of a run do not change between versions (a run resumed
    with a newer mmcolam repeats the draws of the older), and differ from
    key to key."""
    digest = hashlib.blake2b(b'(1, 2, 3)', digest_size=8).digest()
    assert key_seed(1, 2, 3) == int.from_bytes(digest, 'little')
    seeds = {key_seed(0, SAMPLE, r, e, p)
             for r in range(2) for e in range(3) for p in range(100)}
    assert len(seeds) == 600
