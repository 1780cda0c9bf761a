"""Online Label Smoothing (Zhang et al. 2021) as configured from COLAM's
machinery: its loss against numpy, three epochs on fixed logits against a
re-derivation of the authors' CIFAR script, and its per-epoch update against
an independent recomputation from the training forward passes of a
Runner."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpretrain.registry import HOOKS, MODELS
from mmpretrain.structures import DataSample

import mmcolam  # noqa: F401  (registers the components)
from mmcolam.engine.hooks.soft_label_hook import check_checkpoint_table
from mmcolam.soft_labels import PeerStatistics, soft_labels_from_statistics
from tests.helpers.runner_config import (assert_finished_run,
                                         fashion_mnist_config)
from tests.helpers.tool_runs import REPO

ROOT = REPO
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
    assert head['type'] == 'COLAMHead' and head['target'] == 'paper'
    assert head['temperature'] == 1.0 and head['hard_label_weight'] == 0.5
    assert head['initial_table'] == 'zeros'
    assert hooks == [
        dict(type='SoftLabelHook', interval=1, peer_mode='online',
             statistic='probs', only_correct=True, empty_rows='uniform')
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


def recompute_update(logits, labels, num_classes=10):
    """The authors' end-of-epoch rule: row c is the mean softmax of the
    correctly classified samples of class c, or 1/C if there is none."""
    probs = np.exp(np_log_softmax(logits.astype(np.float64)))
    correct = probs.argmax(1) == labels
    table = np.full((num_classes, num_classes), 1 / num_classes)
    for c in range(num_classes):
        rows = probs[correct & (labels == c)]
        if len(rows):
            table[c] = rows.mean(0)
    return table


def authors_ols(epochs, num_classes):
    """The authors' CIFAR script (train_cifar_all_methods.py, --method ols),
    re-derived in float64: the table starts at zeros; every iteration adds
    the softmax of each correctly classified sample to its class's sum, and
    the loss is 0.5 * CE(z, y) + 0.5 * sum(-S[y] * log_softmax(z)) / B; at
    the epoch's end row c becomes the class's mean, or 1/C without one."""
    table = np.zeros((num_classes, num_classes))
    out = []
    for batches in epochs:
        sums = np.zeros((num_classes, num_classes))
        counts = np.zeros(num_classes)
        losses = []
        for logits, labels in batches:
            log_p = np_log_softmax(logits)
            probs = np.exp(log_p)
            for k, label in enumerate(labels):
                if np.argsort(-probs[k])[0] == label:
                    sums[label] += probs[k]
                    counts[label] += 1
            hard = -log_p[np.arange(len(labels)), labels].mean()
            soft = (-table[labels] * log_p).sum() / len(labels)
            losses.append(0.5 * hard + 0.5 * soft)
        out.append(dict(table=table.copy(), losses=losses))
        for c in range(num_classes):
            table[c] = 1 / num_classes if counts[c] < 0.5 else \
                sums[c] / counts[c]
    return out


def our_ols(epochs, num_classes):
    """The OLS config's head and hook settings, driven as SoftLabelHook's
    online mode drives them: the head sums the statistics of its training
    batches, the update runs at every epoch's end."""
    head_cfg, (hook_cfg, ) = ols_settings()
    head = MODELS.build(dict(head_cfg, num_classes=num_classes,
                             in_channels=2))
    head.soft_labels_managed = True
    out = []
    for batches in epochs:
        out.append(dict(table=head.soft_labels.double().numpy().copy(),
                        losses=[]))
        head.peer_statistics = PeerStatistics(
            num_classes, hook_cfg['statistic'], hook_cfg['only_correct'])
        for logits, labels in batches:
            out[-1]['losses'].append(head._get_loss(
                torch.tensor(logits, dtype=torch.float32),
                [DataSample().set_gt_label(int(y))
                 for y in labels])['loss'].item())
        soft_labels_from_statistics(
            head.peer_statistics, head.soft_labels, head.temperature,
            hook_cfg.get('keep_true_class_top', False),
            out=head.soft_labels, empty_rows=hook_cfg['empty_rows'])
    return out


def fixed_epochs():
    """Three epochs of two batches of 4 samples, 4 classes. In epoch 1 no
    sample of class 3 is classified correctly (its logits peak elsewhere)."""
    rng = np.random.default_rng(5)
    labels = np.array([[0, 1, 2, 3], [3, 2, 1, 0]])
    epochs = []
    for epoch in range(3):
        batches = []
        for batch_labels in labels:
            logits = rng.normal(size=(4, 4))
            logits[np.arange(4), batch_labels] += 2.0
            if epoch == 0:
                three = batch_labels == 3
                logits[three, 3] = logits[three].min() - 1.0
            batches.append((logits, batch_labels))
        epochs.append(batches)
    return epochs


def test_three_epochs_match_the_authors_cifar_script():
    """Start at zeros (epoch 1 trains on 0.5 * CE alone), class 3 without a
    correct sample gets 1/C, then every loss and table agree."""
    epochs = fixed_epochs()
    theirs, ours = authors_ols(epochs, 4), our_ols(epochs, 4)
    for our, their in zip(ours, theirs):
        np.testing.assert_allclose(our['table'], their['table'], rtol=1e-6,
                                   atol=1e-7)
        np.testing.assert_allclose(our['losses'], their['losses'],
                                   rtol=1e-6)
    # Epoch 1: half the hard-label cross-entropy, as theirs.
    logits, labels = epochs[0][0]
    cross_entropy = -np_log_softmax(logits)[np.arange(4), labels].mean()
    assert ours[0]['losses'][0] == pytest.approx(0.5 * cross_entropy,
                                                 rel=1e-6)
    np.testing.assert_array_equal(ours[0]['table'], np.zeros((4, 4)))
    # After epoch 1, class 3 had no correct sample: the uniform row.
    np.testing.assert_allclose(ours[1]['table'][3], [0.25] * 4)
    assert (ours[1]['table'][:3].argmax(1) == [0, 1, 2]).all()


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
    np.testing.assert_array_equal(epochs[1]['table'], np.zeros((10, 10)))
    for epoch in (1, 2):  # the updates after epochs 1 and 2
        logits = torch.cat(epochs[epoch]['logits']).numpy()
        labels = torch.cat(epochs[epoch]['labels']).numpy()
        np.testing.assert_allclose(
            epochs[epoch + 1]['table'], recompute_update(logits, labels),
            rtol=1e-4, atol=1e-6)

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


def test_bad_ols_settings_are_refused_naming_the_option(tmp_path):
    with pytest.raises(ValueError, match="initial_table='ones'.*'identity'"):
        MODELS.build(dict(type='COLAMHead', num_classes=3, in_channels=2,
                          target='paper', initial_table='ones'))
    with pytest.raises(ValueError, match="initial_table='zeros'.*'paper'"):
        MODELS.build(dict(type='COLAMHead', num_classes=3, in_channels=2,
                          initial_table='zeros'))
    with pytest.raises(ValueError, match="empty_rows='zero'.*'uniform'"):
        HOOKS.build(dict(type='SoftLabelHook', interval=1,
                         empty_rows='zero'))
    # A zero table with rows that may be kept would train on zero rows.
    head_cfg, (hook_cfg, ) = ols_settings()
    head_cfg.pop('num_classes'), head_cfg.pop('in_channels')
    cfg = fashion_mnist_config(tmp_path, head=head_cfg, max_epochs=2)
    cfg['custom_hooks'] = [dict(hook_cfg, empty_rows='keep')]
    with pytest.raises(ValueError, match="empty_rows='keep'"):
        Runner.from_cfg(Config(cfg)).train()


def test_checkpoint_of_the_first_epoch_holds_zero_rows():
    """A checkpoint taken before the first update holds OLS's zero table:
    accepted for such a head, refused for others."""
    checkpoint = dict(state_dict={'head.soft_labels': torch.zeros(3, 3)})
    check_checkpoint_table(checkpoint, 3, True, 'ckpt', None,
                           allow_zero_rows=True)
    with pytest.raises(ValueError, match='ckpt: head.soft_labels'):
        check_checkpoint_table(checkpoint, 3, True, 'ckpt', None)
