"""A tiny Fashion-MNIST training run through MMEngine's Runner, for tests."""
import copy
import itertools
import math

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpretrain.registry import MODELS

from tests.helpers.fake_data import write_fashion_mnist


def fashion_mnist_config(tmp_path,
                         head=None,
                         loss=None,
                         sampler=None,
                         batch_size=20,
                         max_epochs=2,
                         seed=0):
    """Config dict of a two-epoch CPU run of ``SmallConvNet`` on fake
    Fashion-MNIST (200 train, 100 test images in IDX format).

    Build it with ``Runner.from_cfg(Config(cfg))``; ``runner.train()`` then
    ``runner.test()`` returns ``{'accuracy/top1': ...}``.

    Args:
        tmp_path (pathlib.Path): Folder for the data and the work_dir.
        head (dict, optional): Keys that replace those of the default
            ``LinearClsHead`` dict, e.g. ``dict(type='CSKDHead')``.
            Defaults to None.
        loss (dict, optional): The head's loss. Defaults to None
            (``CrossEntropyLoss``).
        sampler (dict, optional): The training sampler. Defaults to None
            (shuffling ``DefaultSampler``).
        batch_size (int): Training batch size. Defaults to 20.
        max_epochs (int): Training epochs. Defaults to 2.
        seed (int): The run's seed. Defaults to 0.
    """
    data_root = write_fashion_mnist(str(tmp_path / 'fashion_mnist'))
    head_cfg = dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss'))
    head_cfg.update(copy.deepcopy(head or {}))
    if loss is not None:
        head_cfg['loss'] = copy.deepcopy(loss)
    test_dataloader = dict(
        batch_size=50,
        num_workers=0,
        dataset=dict(
            type='FashionMNIST',
            data_root=data_root,
            split='test',
            download=False,
            test_mode=True,
            pipeline=[dict(type='PackInputs')]),
        sampler=dict(type='DefaultSampler', shuffle=False))
    return dict(
        default_scope='mmpretrain',
        work_dir=str(tmp_path / 'work_dir'),
        model=dict(
            type='ImageClassifier',
            data_preprocessor=dict(
                type='ClsDataPreprocessor',
                mean=[72.94],
                std=[90.02],
                num_classes=10),
            backbone=dict(type='SmallConvNet'),
            neck=None,
            head=head_cfg),
        train_dataloader=dict(
            batch_size=batch_size,
            num_workers=0,
            dataset=dict(
                type='FashionMNIST',
                data_root=data_root,
                download=False,
                pipeline=[dict(type='PackInputs')]),
            sampler=copy.deepcopy(sampler
                                  or dict(type='DefaultSampler',
                                          shuffle=True))),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(
            optimizer=dict(
                type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4)),
        test_dataloader=test_dataloader,
        test_evaluator=dict(type='Accuracy', topk=(1, )),
        test_cfg=dict(),
        default_hooks=dict(
            timer=dict(type='IterTimerHook'),
            logger=dict(type='LoggerHook', interval=5),
            param_scheduler=dict(type='ParamSchedulerHook'),
            checkpoint=None,
            sampler_seed=dict(type='DistSamplerSeedHook')),
        env_cfg=dict(
            cudnn_benchmark=False, dist_cfg=dict(backend='gloo')),
        randomness=dict(seed=seed),
        log_level='WARNING',
    )


def train_and_test(cfg):
    """Train with ``cfg``, then test.

    Returns:
        tuple[dict, dict]: The last training value of every logged loss
        (``'train/loss'``, ...) and the test metrics.
    """
    runner = Runner.from_cfg(Config(cfg))
    runner.train()
    losses = {
        name: runner.message_hub.get_scalar(name).current()
        for name in runner.message_hub.log_scalars
        if name.startswith('train/loss')
    }
    return losses, runner.test()


class RecordLastTrainingBatch(Hook):
    """Keeps the head's logits (``head.fc``'s output) and the labels of the
    last training iteration."""

    def before_train(self, runner):
        runner.model.head.fc.register_forward_hook(self._record)

    def _record(self, module, args, output):
        if module.training:
            self.logits = output.detach().clone()

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.labels = torch.cat(
            [s.gt_label for s in data_batch['data_samples']])


def train_recorded(cfg, name):
    """Train with ``cfg`` (experiment ``name``).

    Returns:
        tuple: the logged loss of the last iteration, the
        :class:`RecordLastTrainingBatch` of the run, and the trained model's
        state dict.
    """
    cfg = dict(cfg, experiment_name=name)
    runner = Runner.from_cfg(Config(cfg))
    record = RecordLastTrainingBatch()
    runner.register_hook(record)
    runner.train()
    logged = runner.message_hub.get_scalar('train/loss').current()
    return logged, record, runner.model.state_dict()


def assert_logged_loss_is_the_module(tmp_path, loss):
    """Train with the head's ``loss`` (a config dict): the loss logged at the
    last iteration equals the loss module on that batch's logits."""
    logged, record, _ = train_recorded(
        fashion_mnist_config(tmp_path, loss=loss), f'{tmp_path.name}_loss')
    expected = MODELS.build(loss)(
        record.logits, record.labels, avg_factor=len(record.labels))
    assert logged == pytest.approx(expected.item(), rel=1e-6)


def assert_trains_as_hard_labels(tmp_path, loss):
    """Train with the head's ``loss`` (a config dict) and with plain
    cross-entropy, from the same seed: the two models are equal, bit for bit.

    Returns:
        dict: the hard-label run's state dict.
    """
    _, _, hard = train_recorded(
        fashion_mnist_config(tmp_path / 'hl'), f'{tmp_path.name}_hl')
    _, _, other = train_recorded(
        fashion_mnist_config(tmp_path / 'other', loss=loss),
        f'{tmp_path.name}_other')
    assert other.keys() == hard.keys()
    for key, value in other.items():
        assert torch.equal(value, hard[key]), key
    return hard


def assert_finished_run(losses, metrics):
    """The run logged finite losses and reported a test accuracy."""
    assert 'train/loss' in losses
    assert all(math.isfinite(value) for value in losses.values()), losses
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0, metrics


_names = itertools.count()
#: The head's temperature in colam_config's runs.
TEMPERATURE = 2.0


def colam_config(tmp_path, max_epochs=3, hook=None, head=None, **kwargs):
    """A :func:`fashion_mnist_config` run with a COLAMHead (T = 2; ``head``
    adds or replaces arguments) and a SoftLabelHook that updates after every
    epoch without the guard (``hook`` adds or replaces arguments)."""
    cfg = fashion_mnist_config(
        tmp_path,
        head=dict(type='COLAMHead', temperature=TEMPERATURE, **(head or {})),
        loss=dict(type='CrossEntropyLoss', use_soft=True),
        max_epochs=max_epochs,
        **kwargs)
    hook_cfg = dict(type='SoftLabelHook', interval=1,
                    keep_true_class_top=False)
    hook_cfg.update(hook or {})
    cfg['custom_hooks'] = [hook_cfg]
    cfg['experiment_name'] = f'colam_test_{next(_names)}'
    cfg['visualizer'] = dict(
        type='UniversalVisualizer',
        vis_backends=[dict(type='LocalVisBackend')],
        name=cfg['experiment_name'])
    return cfg


def softmax_rows(means):
    e = np.exp(means - means.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)
