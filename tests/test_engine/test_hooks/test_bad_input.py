"""Bad input met while training, through MMEngine's Runner on fake
Fashion-MNIST: a class with no samples, NaN/inf peer logits, a checkpoint of
another number of classes or with a NaN soft label, unknown options in a
config file. Each either stops with a message that names the option, the
value and what is allowed, or warns, keeps the affected rows and trains on.

(Bad options given to the classes directly are in
test_soft_label_hook_errors.py and test_colam_head.py.)
"""
import glob
import math
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpretrain.registry import MODELS

from tests.helpers import colam_test_hooks  # noqa: F401  (test hooks)
from tests.helpers.fake_data import write_fashion_mnist
from tests.helpers.runner_config import colam_config
from tests.helpers.tool_runs import load_tool, write_config


def train(cfg):
    runner = Runner.from_cfg(Config(cfg))
    runner.train()
    return runner


def log_text(runner):
    path, = glob.glob(osp.join(runner.log_dir, '*.log'))
    return open(path).read()


def history(runner, epoch):
    return np.load(
        osp.join(runner.work_dir, 'soft_labels', f'epoch_{epoch}.npy'))


def assert_trained_to_the_end(runner, max_epochs):
    assert runner.epoch == max_epochs
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert math.isfinite(loss)


@pytest.mark.parametrize('hook', [
    dict(num_peers=None),
    dict(peer_mode='online'),
], ids=['resample', 'online'])
def test_class_without_samples_keeps_its_one_hot_row(tmp_path, hook):
    cfg = colam_config(tmp_path, max_epochs=2, hook=hook)
    # Samples of classes 0-8 only; FashionMNIST still names 10 classes.
    write_fashion_mnist(
        cfg['train_dataloader']['dataset']['data_root'], num_classes=9)
    runner = train(cfg)
    assert_trained_to_the_end(runner, 2)
    table = history(runner, 1)
    np.testing.assert_array_equal(table[9], np.eye(10)[9])
    assert not np.allclose(table[:9], np.eye(10)[:9])
    np.testing.assert_array_equal(runner.model.head.soft_labels.numpy()[9],
                                  np.eye(10)[9])
    log = log_text(runner)
    assert ('SoftLabelHook: classes [9] have no training samples; their '
            'soft labels stay one-hot') in log
    assert ('SoftLabelHook: after epoch 1, classes [9] keep their previous '
            'soft label: no peer samples') in log


def test_nonfinite_peer_logits_keep_the_rows_and_training_goes_on(
        tmp_path):
    cfg = colam_config(tmp_path, max_epochs=3, hook=dict(num_peers=None))
    # In the peer pass, one peer per batch of class 3 gives NaN logits and
    # one of class 5 +inf: one bad peer is enough to keep the class's row.
    cfg['custom_hooks'].append(
        dict(type='PoisonPeerLogits', classes={3: 'nan', 5: 'inf'},
             only_first=True))
    runner = train(cfg)
    assert_trained_to_the_end(runner, 3)
    poison = [h for h in runner.hooks if type(h).__name__ ==
              'PoisonPeerLogits'][0]
    assert poison.poisoned >= 4  # both classes, both updates
    eye = np.eye(10)
    first, second = history(runner, 1), history(runner, 2)
    for table in (first, second):
        assert np.isfinite(table).all()  # the NaN did not spread
        np.testing.assert_array_equal(table[[3, 5]], eye[[3, 5]])
        others = [c for c in range(10) if c not in (3, 5)]
        assert not np.allclose(table[others], eye[others])
        np.testing.assert_allclose(table.sum(1), 1, rtol=1e-5)
    assert not np.array_equal(first, second)  # the second update happened
    log = log_text(runner)
    for epoch in (1, 2):  # one warning per update
        assert (f'SoftLabelHook: after epoch {epoch}, classes [3, 5] keep '
                'their previous soft label: a peer output or the new row is '
                'NaN or inf') in log


def checkpoint_of_12_classes(tmp_path):
    """A checkpoint of a 12-class COLAM model (weights and S)."""
    cfg = colam_config(tmp_path / 'other')
    cfg['model']['head']['num_classes'] = 12
    model = MODELS.build(cfg['model'])
    model.head.soft_labels.fill_(1 / 12)
    path = tmp_path / 'classes12.pth'
    torch.save({'meta': {'epoch': 1, 'iter': 10},
                'state_dict': model.state_dict()}, path)
    return str(path)


def test_resume_from_checkpoint_of_other_classes_fails(tmp_path):
    cfg = colam_config(tmp_path, max_epochs=2)
    cfg['load_from'] = checkpoint_of_12_classes(tmp_path)
    cfg['resume'] = True
    with pytest.raises(
            ValueError,
            match=r'cannot resume.*\(12, 12\).*num_classes=10.*load_from'):
        train(cfg)


class RecordStartSoftLabels(Hook):

    def before_train(self, runner):  # after load_from
        self.table = runner.model.head.soft_labels.clone()


def test_load_from_checkpoint_of_other_classes_warns(tmp_path, capsys):
    # MMEngine loads with strict=False: mismatched shapes are skipped with
    # its own "size mismatch" warning; SoftLabelHook says what it means.
    cfg = colam_config(tmp_path, max_epochs=2)
    cfg['load_from'] = checkpoint_of_12_classes(tmp_path)
    runner = Runner.from_cfg(Config(cfg))
    start = RecordStartSoftLabels()
    runner.register_hook(start)
    runner.train()
    assert_trained_to_the_end(runner, 2)
    torch.testing.assert_close(start.table, torch.eye(10))  # not 1/12
    log = log_text(runner)
    assert ("SoftLabelHook: load_from: the checkpoint's head.soft_labels has "
            'shape (12, 12), but model.head.num_classes=10 needs (10, 10), '
            'so its soft labels are not loaded and training starts from hard '
            'labels (the identity)') in log
    # MMEngine's own warning goes to stdout, not to the run's log.
    assert 'size mismatch for head.soft_labels' in capsys.readouterr().out


@pytest.mark.parametrize('resume', [True, False], ids=['resume', 'load_from'])
def test_checkpoint_with_a_nan_soft_label_row_is_refused(tmp_path, resume):
    cfg = colam_config(tmp_path / 'other')
    model = MODELS.build(cfg['model'])
    model.head.soft_labels[3] = float('nan')
    path = tmp_path / 'nan_row.pth'
    torch.save({'meta': {'epoch': 1, 'iter': 10},
                'state_dict': model.state_dict()}, path)
    cfg = colam_config(tmp_path, max_epochs=2)
    cfg.update(load_from=str(path), resume=resume)
    with pytest.raises(
            ValueError,
            match=r'nan_row.pth: head.soft_labels is not a table of soft '
            r'labels: rows \[3\] are not'):
        train(cfg)


@pytest.mark.parametrize('target', ['paper', 'bounded'])
def test_targets_that_lose_the_true_class_warn(tmp_path, target):
    """An untrained model's peers give a near-uniform S: in the paper's form
    the targets then put ~1/C on the true class, and the update says so;
    the bounded form keeps 1 - eps = 0.9 and does not warn."""
    cfg = colam_config(tmp_path, max_epochs=2, head=dict(target=target))
    cfg['optim_wrapper']['optimizer']['lr'] = 1e-6  # stays untrained
    runner = train(cfg)
    mass = runner.model.head.true_class_mass()
    warning = 'the training targets put'
    if target == 'paper':
        table = history(runner, 1)
        assert mass == pytest.approx(np.diag(table).mean(), rel=1e-6)
        assert mass < 0.2
        assert (f'SoftLabelHook: after epoch 1 the training targets put '
                f'{mass:.2f} of their mass on the true class') in \
            log_text(runner)
    else:
        assert mass == pytest.approx(0.9)
        assert warning not in log_text(runner)


@pytest.mark.parametrize('option, pattern', [
    (dict(peer_mode='offline'),
     r"peer_mode='offline' is not supported: choose one of 'resample', "
     r"'online'"),
    (dict(statistic='mean'),
     r"statistic='mean' is not supported: choose one of 'logits', 'probs'"),
], ids=['peer_mode', 'statistic'])
def test_unknown_option_in_config_file(tmp_path, option, pattern):
    cfg = colam_config(tmp_path, hook=option)
    config = write_config(cfg, tmp_path / 'config.py')
    with pytest.raises(ValueError, match=pattern):
        load_tool('train').main(
            [config, '--work-dir', str(tmp_path / 'work_dir')])
