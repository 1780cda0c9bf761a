"""Test-only hooks, loaded by config files through ``custom_imports`` (the
tests put the repository on ``PYTHONPATH`` of the processes they start and
import ``tests.helpers.colam_test_hooks``).

- :class:`DumpSoftLabelUpdates`: every rank writes what it saw at each soft
  label update (its S, its own peer statistics before the all-reduce, the
  reduced ones, its model weights, and in online mode its training logits).
- :class:`Crash`: raises at a given iteration (registered on a runner by
  the tests themselves).
- :class:`PauseAfterIter`: stops at a given iteration so that a test can kill
  the process at a known point.
- :class:`PoisonPeerLogits`: makes the peer pass return NaN/inf logits for the
  peers of chosen classes.
"""
import os
import os.path as osp
import time

import numpy as np
import torch
from mmengine import dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from mmcolam.engine.hooks import SoftLabelHook


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model


def _soft_label_hook(runner):
    for hook in runner.hooks:
        if isinstance(hook, SoftLabelHook):
            return hook
    raise RuntimeError('the run has no SoftLabelHook')


@HOOKS.register_module()
class DumpSoftLabelUpdates(Hook):
    """Write ``out_dir/rank{r}_epoch{e}.npz`` and ``.pth`` after every update.

    The ``.npz`` holds ``soft_labels`` (this rank's S after the update),
    ``local_table`` (this rank's PeerStatistics table before the all-reduce),
    ``reduced_table`` (after it), and in online mode ``train_logits`` and
    ``train_labels`` (this rank's training forward passes of the epoch). The
    ``.pth`` holds this rank's model state dict, as the peers saw it.

    Args:
        out_dir (str): Where to write.
    """

    priority = 'LOW'  # after SoftLabelHook (NORMAL): S is the new one

    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.tables = None

    def before_train(self, runner):
        colam = _soft_label_hook(runner)
        new_statistics = colam.window.new_statistics

        def recording_new_statistics():
            stats = new_statistics()
            all_reduce = stats.all_reduce

            def recording_all_reduce():
                local = stats.table.clone()
                all_reduce()
                self.tables = (local, stats.table.clone())

            stats.all_reduce = recording_all_reduce
            return stats

        colam.window.new_statistics = recording_new_statistics
        _unwrap(runner.model).head.register_forward_hook(self._record_logits)
        os.makedirs(self.out_dir, exist_ok=True)

    def _record_logits(self, module, args, output):
        if module.training:
            self.logits.append(output.detach().float().clone())

    def before_train_epoch(self, runner):
        self.logits, self.labels = [], []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.labels.append(
            torch.cat([s.gt_label for s in data_batch['data_samples']]))

    def after_train_epoch(self, runner):
        if self.tables is None:
            return
        local, reduced = self.tables
        self.tables = None
        model = _unwrap(runner.model)
        name = osp.join(self.out_dir,
                        f'rank{dist.get_rank()}_epoch{runner.epoch + 1}')
        np.savez(
            name + '.npz',
            soft_labels=model.head.soft_labels.cpu().numpy(),
            local_table=local.cpu().numpy(),
            reduced_table=reduced.cpu().numpy(),
            train_logits=torch.cat(self.logits).cpu().numpy(),
            train_labels=torch.cat(self.labels).cpu().numpy())
        torch.save({k: v.cpu() for k, v in model.state_dict().items()},
                   name + '.pth')


class Crash(Hook):
    """Stop the run with an exception at a given iteration."""

    def __init__(self, at_iter):
        self.at_iter = at_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.at_iter:
            raise KeyboardInterrupt('simulated crash')


@HOOKS.register_module()
class PauseAfterIter(Hook):
    """After iteration ``$COLAM_TEST_PAUSE_AFTER_ITER`` (1-based), write
    ``$COLAM_TEST_PAUSE_MARKER`` and sleep, so that a test can kill the
    process there. Does nothing without those environment variables.

    Runs last, after the other hooks (logging, checkpoints) of the iteration.
    """

    priority = 'LOWEST'

    def __init__(self, seconds=3600):
        self.seconds = seconds

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        at = os.environ.get('COLAM_TEST_PAUSE_AFTER_ITER')
        if at is None or runner.iter + 1 != int(at):
            return
        with open(os.environ['COLAM_TEST_PAUSE_MARKER'], 'w') as f:
            f.write(f'{runner.epoch} {runner.iter + 1}\n')
        time.sleep(self.seconds)
        raise RuntimeError('PauseAfterIter: the test did not kill the run')


@HOOKS.register_module()
class PoisonPeerLogits(Hook):
    """Replace the logits of the peers of some classes by ``value`` in the
    eval-mode peer pass of ``peer_mode='resample'``.

    Args:
        classes (dict[int, float]): class -> value (``nan``, ``inf``...).
        only_first (bool): Poison only the first peer of each class in each
            batch, not all of them. Defaults to False.
    """

    def __init__(self, classes, only_first=False):
        self.classes = {int(c): float(v) for c, v in classes.items()}
        self.only_first = only_first
        self.poisoned = 0

    def before_train(self, runner):
        # The peer logits reach SoftLabelHook's statistics only through
        # PeerStatistics.update: poison them there.
        hook = _soft_label_hook(runner)
        model = _unwrap(runner.model)
        new_statistics = hook.window.new_statistics

        def poisoned_statistics():
            stats = new_statistics()
            update = stats.update

            def poisoned_update(logits, labels, *args, **kwargs):
                if not model.training:  # the eval-mode peer pass
                    logits = self._poison(logits, labels)
                return update(logits, labels, *args, **kwargs)

            stats.update = poisoned_update
            return stats

        hook.window.new_statistics = poisoned_statistics

    def _poison(self, logits, labels):
        logits = logits.clone()
        for cls, value in self.classes.items():
            rows = torch.nonzero(labels == cls).flatten()
            if self.only_first:
                rows = rows[:1]
            logits[rows] = value
            self.poisoned += len(rows)
        return logits
