"""SoftLabelHook: refreshes a COLAMHead's soft labels at every stage end."""
import os.path as osp
import time
from functools import partial
from typing import Optional, Sequence

from mmengine import dist
from mmengine.hooks import CheckpointHook, Hook
from mmengine.runner import EpochBasedTrainLoop
from mmpretrain.registry import HOOKS

from mmcolam.argument_checks import (check_bool, check_choice, check_int,
                                     check_number, check_temperature)
from mmcolam.engine.model_unwrap import classifier
from mmcolam.engine.online_window import OnlineWindow, checkpoint_due
from mmcolam.engine.peers import (peer_dataset, real_samples,
                                  resample_statistics, training_labels)
from mmcolam.engine.soft_label_checks import (check_checkpoint_table,
                                              check_colam_head, check_interval,
                                              check_online_window,
                                              warn_iteration_checkpoints)
from mmcolam.engine.soft_label_log import UpdateReporter
from mmcolam.soft_labels import (EMPTY_ROWS, STATISTICS, PeerStatistics,
                                 listed, soft_labels_from_statistics)

PEER_MODES = ('resample', 'online')


class AfterCheckpoints(Hook):
    """Calls ``callback(runner)`` after every training epoch and iteration,
    once the other hooks (CheckpointHook is ``'VERY_LOW'``) have run."""

    priority = 'LOWEST'

    def __init__(self, callback):
        self.callback = callback

    def after_train_epoch(self, runner) -> None:
        self.callback(runner)

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        self.callback(runner)


#: Below this mean true-class mass of the training targets an update warns
#: that the run may collapse (the paper's form on an immature model).
MIN_TRUE_CLASS_MASS = 0.5


@HOOKS.register_module()
class SoftLabelHook(Hook):
    """Refresh the soft labels of the model's :class:`COLAMHead` at the end
    of every stage of ``interval`` epochs (iterations) but the last: each row
    of ``S`` becomes ``softmax(mean peer logits / T)`` (paper Alg. 1, Eq. 6).

    Peers are ``num_peers`` random training samples per class run in eval
    mode through the test pipeline (``'resample'``, the paper), or the
    training batches of the stage's last ``online_window`` epochs
    (``'online'``, no extra pass). Each update is logged and saved to
    ``work_dir/soft_labels/`` (``.npy``, heatmap ``.png``); ``S`` and the
    online sums live in checkpoints, so resume continues them. An update
    whose table cannot be saved there stops the run with an OSError, but
    only after the checkpoints of its step (one is saved if the schedule has
    none) hold the new ``S``, so resuming loses nothing. An update after
    which the training targets put less than :data:`MIN_TRUE_CLASS_MASS` on
    the true class, or more on another class than on the true one, warns
    (:meth:`warn_if_targets_mislead`): the paper's form collapses from there.

    Args:
        interval (int): Epochs (iterations) per stage, t in the paper.
        peer_mode (str): ``'resample'`` or ``'online'``.
            Defaults to 'resample'.
        num_peers (int, optional): K peers per class in resample mode; None
            takes all of them. Defaults to 100 (the paper's largest K).
        statistic (str): ``'logits'`` (the paper) or ``'probs'``.
            Defaults to 'logits'.
        only_correct (bool): Use only correctly classified peers.
            Defaults to False.
        keep_true_class_top (bool, optional): The guard: a class whose new
            soft label would not give its own class the largest mass keeps
            its previous row (False: the paper). Defaults to None: what the
            head's ``target`` implies (``COLAMHead.update_settings``: on
            for 'bounded', off for 'paper').
        momentum (float): ``S <- m * S + (1 - m) * S_new``, in [0, 1).
            Defaults to 0.0 (the paper).
        empty_rows (str): What a class with no peers gets: ``'keep'`` (its
            previous row, with a warning) or ``'uniform'`` (1/C, as OLS's
            authors). Defaults to 'keep'.
        label_temperature (float, optional): T of the update. Defaults to
            None: what the head's ``target`` implies (2.0 for 'bounded', the
            head's temperature for 'paper').
        online_window (int, optional): Epochs (iterations) summed before
            each update in online mode; None is one epoch's worth, at most
            ``interval``. Defaults to None.
        peer_pipeline (list[dict], optional): Pipeline for the peers in
            resample mode. Defaults to None: the test (else val) dataloader's
            pipeline.
        peer_batch_size (int, optional): Batch size of the peer pass.
            Defaults to None: the train dataloader's.
    """

    priority = 'NORMAL'  # before CheckpointHook, so checkpoints hold new S

    def __init__(self,
                 interval: int,
                 peer_mode: str = 'resample',
                 num_peers: Optional[int] = 100,
                 statistic: str = 'logits',
                 only_correct: bool = False,
                 keep_true_class_top: Optional[bool] = None,
                 momentum: float = 0.0,
                 empty_rows: str = 'keep',
                 label_temperature: Optional[float] = None,
                 online_window: Optional[int] = None,
                 peer_pipeline: Optional[Sequence[dict]] = None,
                 peer_batch_size: Optional[int] = None):
        check_int('interval', interval)
        check_choice('peer_mode', peer_mode, PEER_MODES)
        check_int('num_peers', num_peers, allow_none=True)
        check_choice('statistic', statistic, STATISTICS)
        check_bool('only_correct', only_correct)
        if keep_true_class_top is not None:
            check_bool('keep_true_class_top', keep_true_class_top)
        momentum = check_number('momentum', momentum, 0, 1, open_high=True,
                                note='0 = the paper')
        check_choice('empty_rows', empty_rows, EMPTY_ROWS)
        if label_temperature is not None:
            label_temperature = check_temperature('label_temperature',
                                                  label_temperature)
        check_online_window(online_window, interval)
        check_int('peer_batch_size', peer_batch_size, allow_none=True)
        self.interval = interval
        self.peer_mode = peer_mode
        self.num_peers = num_peers
        self.statistic = statistic
        self.only_correct = only_correct
        self.keep_true_class_top = keep_true_class_top
        self.momentum = momentum
        self.empty_rows = empty_rows
        self.label_temperature = label_temperature
        self.online_window = online_window
        self.peer_pipeline = peer_pipeline
        self.peer_batch_size = peer_batch_size

    def attach(self, head) -> None:
        """Take over the soft labels of ``head``, a :class:`COLAMHead`: mark
        them managed, fill in the settings left to its form
        (``COLAMHead.update_settings``) and check that they fit it."""
        check_colam_head(head)
        head.soft_labels_managed = True
        self.head = head
        implied = head.update_settings()
        if self.keep_true_class_top is None:
            self.keep_true_class_top = implied['keep_true_class_top']
        if self.label_temperature is None:
            self.label_temperature = implied['label_temperature']
        if head.initial_table == 'zeros' and (
                self.empty_rows != 'uniform' or self.keep_true_class_top):
            raise ValueError(
                "model.head.initial_table='zeros' needs SoftLabelHook("
                "empty_rows='uniform', keep_true_class_top=False), as OLS, "
                f'but empty_rows={self.empty_rows!r}, keep_true_class_top='
                f'{self.keep_true_class_top!r}: a kept row would stay zero')

    def before_run(self, runner) -> None:
        head = getattr(classifier(runner), 'head', None)
        self.attach(head)
        self.window = OnlineWindow(
            head,
            partial(PeerStatistics, head.num_classes, self.statistic,
                    self.only_correct, device=head.soft_labels.device))
        self.reporter = UpdateReporter()
        # (error, update name, CheckpointHook.last_ckpt of each) when an
        # update could not save its history; raised after the checkpoints.
        self.history_failure = None

    def before_train(self, runner) -> None:
        loop = runner.train_loop
        self.by_epoch = isinstance(loop, EpochBasedTrainLoop)
        self.max_steps = loop.max_epochs if self.by_epoch else loop.max_iters
        check_interval(self.interval, self.max_steps, self.by_epoch)
        rule = (f'softmax(mean peer logits / {self.label_temperature})'
                if self.statistic == 'logits' else 'mean peer probabilities')
        runner.logger.info(
            f'SoftLabelHook: COLAMHead(target={self.head.target!r}, '
            f'temperature={self.head.temperature}); every {self.interval} '
            f'{"epochs" if self.by_epoch else "iterations"}, S[c] = {rule}, '
            f'guard {"on" if self.keep_true_class_top else "off"}')
        self.window.plan(
            self.interval, self.max_steps, self.online_window
            or (1 if self.by_epoch else min(len(runner.train_dataloader),
                                            self.interval)))
        dataset = runner.train_dataloader.dataset
        self.labels = training_labels(
            dataset, self.head.num_classes,
            getattr(classifier(runner).data_preprocessor, 'num_classes',
                    None), self.peer_mode == 'resample', runner.logger)
        if self.peer_mode == 'resample':
            self.peer_dataset = peer_dataset(runner.cfg, dataset,
                                             self.peer_pipeline)
        self.checkpoint_hooks = [
            h for h in runner.hooks if isinstance(h, CheckpointHook)
        ]
        if self.peer_mode == 'online' and self.by_epoch:
            warn_iteration_checkpoints(self.checkpoint_hooks, runner.logger)
        runner.register_hook(AfterCheckpoints(self.stop_if_history_failed))

    def _begin_step(self, runner, step: int, samples=None) -> None:
        self.window.begin_step(
            runner.iter, self.peer_mode == 'online'
            and self.window.contains(step), samples)

    def before_train_epoch(self, runner) -> None:
        if self.by_epoch:
            self._begin_step(runner, runner.epoch + 1,
                             real_samples(runner.train_dataloader.sampler))

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if not self.by_epoch:
            self._begin_step(runner, runner.iter + 1)

    def after_train_epoch(self, runner) -> None:
        if self.by_epoch:
            self._after_step(runner, runner.epoch + 1, save_due=True)

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        if not self.by_epoch:
            self._after_step(
                runner, runner.iter + 1,
                save_due=checkpoint_due(runner, self.checkpoint_hooks))

    def _after_step(self, runner, step: int, save_due: bool) -> None:
        if step % self.interval == 0 and step < self.max_steps:
            self.update(runner, step)
        elif save_due:
            self.window.gather()

    def update(self, runner, step: int) -> None:
        """Refresh ``S`` from the peers of the stage that ends at ``step``;
        its wall time goes to the message hub as
        ``soft_labels/update_seconds``."""
        self.reporter.finish(runner)  # one heatmap at a time
        start = time.perf_counter()
        if self.peer_mode == 'online':
            stats = self.window.close()
        else:
            train_loader = runner.train_dataloader
            stats = resample_statistics(
                classifier(runner), self.peer_dataset, self.labels,
                self.num_peers, [runner.seed or 0, step],
                self.window.new_statistics(),
                self.peer_batch_size or train_loader.batch_size,
                train_loader.num_workers, runner.optim_wrapper)
        stats.all_reduce()
        table = self.head.soft_labels  # updated in place: no second table
        table, report = soft_labels_from_statistics(
            stats, table, self.label_temperature, self.keep_true_class_top,
            self.momentum, out=table, empty_rows=self.empty_rows)
        dist.broadcast(table, src=0)  # bitwise identical on every rank
        # An epoch loop has counted its last iteration when after_train_epoch
        # runs; an iteration loop has not when after_train_iter does.
        iteration = runner.iter + (0 if self.by_epoch else 1)
        unit = 'epoch' if self.by_epoch else 'iter'
        try:
            self.reporter.report(runner, f'{unit} {step}', iteration, table,
                                 report)
        except OSError as error:
            self.history_failure = (error, f'{unit}_{step}', [
                h.last_ckpt for h in self.checkpoint_hooks])
        self.warn_if_targets_mislead(runner, f'{unit} {step}')
        runner.message_hub.update_scalar('soft_labels/update_seconds',
                                         time.perf_counter() - start)

    def warn_if_targets_mislead(self, runner, name: str) -> None:
        """Warn when, after the update ``name``, the training targets put
        less than :data:`MIN_TRUE_CLASS_MASS` on the true class on average,
        or more on another class than on the true one: from there the
        paper's form collapses (docs/results/paper_form_collapse.md)."""
        mass = self.head.true_class_mass()
        misled = self.head.misled_classes()
        if mass >= MIN_TRUE_CLASS_MASS and not misled:
            return
        runner.logger.warning(
            f'SoftLabelHook: after {name} the training targets put {mass:.2f}'
            ' of their mass on the true class (mean over classes; warned '
            f'below {MIN_TRUE_CLASS_MASS}), and those of classes '
            f'{listed(misled)} put more on another class than on their own: '
            'the run can '
            'collapse (docs/results/paper_form_collapse.md). For results use '
            "target='bounded' (the default); with target='paper', "
            'keep_true_class_top=True keeps each row\'s own class on top')

    def stop_if_history_failed(self, runner) -> None:
        """After the checkpoint hooks of a step whose update could not save
        its history: make sure a checkpoint holds the new ``S``, then raise
        the OSError."""
        if self.history_failure is None:
            return
        error, name, saved_before = self.history_failure
        saved = [h.last_ckpt for h, before in zip(self.checkpoint_hooks,
                                                  saved_before)
                 if h.last_ckpt != before]
        if saved:
            checkpoint = saved[0]
        else:
            checkpoint = osp.join(runner.work_dir, f'{name}.pth')
            runner.save_checkpoint(runner.work_dir, f'{name}.pth',
                                   by_epoch=self.by_epoch)
            # Where `--resume` without a path looks (as CheckpointHook).
            with open(osp.join(runner.work_dir, 'last_checkpoint'), 'w') as f:
                f.write(checkpoint)
        raise OSError(
            f'SoftLabelHook: cannot save the soft labels after '
            f'{name.replace("_", " ")} to work_dir/soft_labels/ ({error}). '
            f'Training stopped after saving {checkpoint}, which holds them '
            '(head.soft_labels): make that folder writable, then resume with '
            '--resume.') from error

    def after_run(self, runner) -> None:
        self.reporter.finish(runner)
        # Rank 0 may still be drawing the last heatmap: no rank leaves (and
        # tears down its process group) before the others are done.
        dist.barrier()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        self.window.save(checkpoint)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        check_checkpoint_table(
            checkpoint, self.head.num_classes,
            getattr(runner, '_resume', False),
            runner._load_from or f'the latest checkpoint in {runner.work_dir}',
            runner.logger, self.head.initial_table == 'zeros')
        self.window.load(checkpoint)
