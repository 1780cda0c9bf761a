"""Online Label Smoothing (Zhang et al. 2021) as configured from COLAM's
machinery: its loss against numpy, and its per-epoch update against an
independent recomputation from the training forward passes of a Runner."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from runner_config import assert_finished_run, fashion_mnist_config

import mmcolam  # noqa: F401  (registers the components)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
OLS_CONFIG = osp.join(ROOT, 'configs', 'baselines',
                      'smallconvnet_1xb128-ols_fashion-mnist.py')


def ols_settings():
    cfg = Config.fromfile(OLS_CONFIG)
    return cfg.model.head.to_dict(), [h.to_dict() for h in cfg.custom_hooks]


def np_log_softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def test_config_is_ols():
    head, hooks = ols_settings()
    assert head['type'] == 'COLAMHead'
    assert head['temperature'] == 1.0 and head['hard_label_weight'] == 0.5
    assert hooks == [
        dict(type='SoftLabelHook', interval=1, peer_mode='online',
             statistic='probs', only_correct=True, keep_true_class_top=False)
    ]


def test_loss_is_half_hard_plus_half_soft_cross_entropy():
    head_cfg, _ = ols_settings()
    head = MODELS.build(dict(head_cfg, num_classes=3, in_channels=2))
    table = np.array([[0.8, 0.15, 0.05], [0.1, 0.7, 0.2], [0.3, 0.3, 0.4]])
    head.set_soft_labels(torch.tensor(table, dtype=torch.float32))
    logits = np.array([[2.0, 0.0, -1.0], [0.5, 1.5, 0.2], [-0.3, 0.1, 0.9]])
    labels = np.array([0, 2, 2])
    loss = head._get_loss(
        torch.tensor(logits, dtype=torch.float32),
        [DataSample().set_gt_label(int(y)) for y in labels])['loss']
    log_p = np_log_softmax(logits)
    hard = -log_p[np.arange(3), labels].mean()
    soft = -(table[labels] * log_p).sum(1).mean()
    assert loss.item() == pytest.approx(0.5 * hard + 0.5 * soft, rel=1e-6)
    # The first sample by hand: log softmax([2, 0, -1])_j = z_j - log(e^2 +
    # 1 + e^-1); target 0.5 * [1, 0, 0] + 0.5 * [0.8, 0.15, 0.05].
    norm = np.log(np.exp(2.0) + 1.0 + np.exp(-1.0))
    first = -(0.9 * (2.0 - norm) + 0.075 * (0.0 - norm) + 0.025 *
              (-1.0 - norm))
    assert first == pytest.approx(
        0.5 * -log_p[0, 0] + 0.5 * -(table[0] * log_p[0]).sum(), rel=1e-12)


class RecordTraining(Hook):
    """Per epoch: the logits of every training forward pass, the labels,
    the loss of every iteration and the soft-label table in use."""

    def __init__(self):
        self.epochs = {}

    def before_train(self, runner):
        runner.model.head.register_forward_hook(
            lambda module, args, output: self.logits.append(
                output.detach().clone()))

    def before_train_epoch(self, runner):
        self.logits, self.labels, self.losses = [], [], []
        self.epochs[runner.epoch + 1] = dict(
            logits=self.logits, labels=self.labels, losses=self.losses,
            table=runner.model.head.soft_labels.clone().numpy())

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.labels.append(
            torch.cat([s.gt_label for s in data_batch['data_samples']]))

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses.append(outputs['loss'].item())


def recompute_update(previous, logits, labels):
    """Normalised mean softmax of the correctly classified samples of each
    class; a class without any keeps its previous row."""
    probs = np.exp(np_log_softmax(logits.astype(np.float64)))
    correct = probs.argmax(1) == labels
    table = previous.copy()
    for c in range(len(previous)):
        rows = probs[correct & (labels == c)]
        if len(rows):
            mean = rows.mean(0)
            table[c] = mean / mean.sum()
    return table


def test_ols_run_updates_from_correct_training_probabilities(tmp_path):
    head_cfg, hooks = ols_settings()
    head_cfg.pop('num_classes'), head_cfg.pop('in_channels')
    cfg = fashion_mnist_config(tmp_path, head=head_cfg, max_epochs=3)
    cfg['custom_hooks'] = copy.deepcopy(hooks)
    runner = Runner.from_cfg(Config(cfg))
    record = RecordTraining()
    runner.register_hook(record, priority='LOW')
    runner.train()

    epochs = record.epochs
    np.testing.assert_array_equal(epochs[1]['table'], np.eye(10))
    updated = 0
    for epoch in (1, 2):  # the updates after epochs 1 and 2
        logits = torch.cat(epochs[epoch]['logits']).numpy()
        labels = torch.cat(epochs[epoch]['labels']).numpy()
        expected = recompute_update(epochs[epoch]['table'], logits, labels)
        np.testing.assert_allclose(
            epochs[epoch + 1]['table'], expected, rtol=1e-4, atol=1e-6)
        updated += int((np.abs(expected - epochs[epoch]['table']).sum(1) >
                        1e-6).sum())
    assert updated >= 10  # most classes got a new row at least once

    # Every iteration's loss is 0.5 CE(hard) + 0.5 CE(S[y]) with the table
    # of the epoch.
    for epoch in (1, 2, 3):
        table = epochs[epoch]['table']
        for logits, labels, loss in zip(epochs[epoch]['logits'],
                                        epochs[epoch]['labels'],
                                        epochs[epoch]['losses']):
            log_p = np_log_softmax(logits.numpy().astype(np.float64))
            labels = labels.numpy()
            hard = -log_p[np.arange(len(labels)), labels].mean()
            soft = -(table[labels] * log_p).sum(1).mean()
            assert loss == pytest.approx(0.5 * hard + 0.5 * soft, rel=1e-4)

    losses = {'train/loss': runner.message_hub.get_scalar(
        'train/loss').current()}
    assert_finished_run(losses, runner.test())
