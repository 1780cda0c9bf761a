"""SoftLabelHook: what happens at the end of each stage of COLAM's
alternating minimisation (Li et al., Neural Processing Letters 2022, Alg. 1):
the peers' statistics, the new soft labels, what is logged and saved, and the
online peers' running sums in checkpoints."""
import copy
import os.path as osp
import time
from functools import partial
from typing import Callable, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine import dist
from mmengine.dataset import Compose, DefaultSampler
from mmengine.hooks import CheckpointHook, Hook
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.optim import AmpOptimWrapper
from mmengine.runner import EpochBasedTrainLoop
from mmengine.runner.amp import autocast
from mmpretrain.registry import HOOKS, TRANSFORMS
from torch.utils.data import DataLoader, Subset

from mmcolam.argument_checks import (check_choice, check_int, check_number,
                                     check_temperature)
from mmcolam.models.heads.colam_head import COLAMHead
from mmcolam.soft_labels import (EMPTY_ROWS, STATISTICS, PeerStatistics,
                                 check_soft_label_table, draw_peers, listed,
                                 save_soft_label_history, soft_label_summary,
                                 soft_labels_from_statistics)

PEER_MODES = ('resample', 'online')

#: Below this mean true-class mass of the training targets an update warns
#: that the run may collapse (the paper's form on an immature model).
MIN_TRUE_CLASS_MASS = 0.5

#: The checkpoint key of the online peers' running sums.
CHECKPOINT_KEY = 'soft_label_peer_statistics'


@HOOKS.register_module()
class SoftLabelHook(Hook):
    """Refresh the soft labels of the model's :class:`COLAMHead` at the end
    of every stage of ``interval`` epochs (iterations) but the last: each row
    of ``S`` becomes ``softmax(mean peer logits / T)`` (paper Alg. 1, Eq. 6).

    Peers are ``num_peers`` random training samples per class run in eval
    mode through the test pipeline (``'resample'``, the paper), or the
    training batches of the stage's last ``online_window`` epochs
    (``'online'``). Each update is logged and saved to
    ``work_dir/soft_labels/`` (``.npy``, heatmap ``.png``); the online sums
    are saved in checkpoints. Why it works as it does: docs/design.md.

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
        momentum = check_number('momentum', momentum, 0, 1, open_high=True,
                                note='0 = the paper')
        check_choice('empty_rows', empty_rows, EMPTY_ROWS)
        if label_temperature is not None:
            label_temperature = check_temperature('label_temperature',
                                                  label_temperature)
        check_int('online_window', online_window, allow_none=True)
        if online_window is not None and online_window > interval:
            raise ValueError(
                f'online_window={online_window} is longer than the stage '
                f'(interval={interval}): use at most {interval}')
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
        """Take over the soft labels of ``head``, a :class:`COLAMHead`
        (``COLAMHead.accept_soft_label_updates``), fill in the settings left
        to its form (``COLAMHead.update_settings``) and check that they fit
        it."""
        if not isinstance(head, COLAMHead):
            raise TypeError(
                'SoftLabelHook refreshes the soft labels of a COLAMHead, but '
                f'the model head is {type(head).__name__}: set model.head.'
                "type='COLAMHead' or remove the SoftLabelHook")
        head.accept_soft_label_updates()
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
        if self.interval >= self.max_steps:
            unit = 'epochs' if self.by_epoch else 'iterations'
            raise ValueError(
                f'SoftLabelHook interval={self.interval} is not shorter than '
                f'the run ({self.max_steps} {unit}), so the soft labels would '
                f'never be updated: use an interval < {self.max_steps}')
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
        if self.peer_mode == 'online' and self.by_epoch and any(
                not h.by_epoch for h in self.checkpoint_hooks):
            # Online sums go into checkpoints at epoch ends only.
            runner.logger.warning(
                'SoftLabelHook: online peer statistics are saved only in '
                'checkpoints taken at epoch ends; an update after resuming '
                'from a checkpoint saved mid-epoch inside its window counts '
                'only the epochs run after the resume')
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


# Where the peers come from: the training data's checks, the resample pass
# and the online mode's share of an epoch.


def training_labels(dataset, num_classes: int, preprocessor_classes,
                    needs_labels: bool, logger) -> Optional[np.ndarray]:
    """The class of every training sample, checked against the head's
    ``num_classes`` (and the data preprocessor's); None where the dataset
    cannot tell and ``needs_labels`` is False (online peers)."""
    classes = getattr(dataset, 'metainfo', {}).get('classes')
    if classes is not None and len(classes) != num_classes:
        raise ValueError(
            f'model.head.num_classes={num_classes} disagrees with the '
            f'training dataset, which has {len(classes)} classes')
    if preprocessor_classes not in (None, num_classes):
        raise ValueError(
            f'model.data_preprocessor.num_classes={preprocessor_classes} '
            f'disagrees with model.head.num_classes={num_classes}')
    if not hasattr(dataset, 'get_gt_labels'):
        if needs_labels:
            raise TypeError(
                f'peer_mode=\'resample\' needs the class of every training '
                f'sample, but {type(dataset).__name__} has no '
                "get_gt_labels(): use peer_mode='online'")
        return None
    labels = np.asarray(dataset.get_gt_labels()).reshape(-1)
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        raise ValueError(
            f'training label {int(labels[bad][0])} (sample '
            f'{int(np.flatnonzero(bad)[0])}) is outside [0, {num_classes}) '
            f'of model.head.num_classes={num_classes}')
    empty = np.flatnonzero(np.bincount(labels, minlength=num_classes) == 0)
    if len(empty):
        logger.warning(f'SoftLabelHook: classes {empty.tolist()} have no '
                       'training samples; their soft labels stay one-hot')
    return labels


def peer_dataset(cfg, dataset, pipeline: Optional[Sequence] = None):
    """The training set with ``pipeline`` (default: the config's test, else
    val, pipeline) instead of its own; it shares the training set's data."""
    if pipeline is None:
        for name in ('test_dataloader', 'val_dataloader'):
            loader_cfg = cfg.get(name) or {}
            pipeline = loader_cfg.get('dataset', {}).get('pipeline')
            if pipeline is not None:
                break
    if pipeline is None:
        raise ValueError(
            "peer_mode='resample' runs the peers through the test pipeline, "
            'but the config has no test_dataloader or val_dataloader with a '
            'dataset pipeline: set peer_pipeline')
    if not hasattr(dataset, 'pipeline'):
        raise TypeError(
            f'{type(dataset).__name__} has no pipeline to swap for the '
            "peers' test pipeline: use peer_mode='online'")
    peers = copy.copy(dataset)
    peers.pipeline = Compose(
        [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline])
    return peers


def collate_peers(batch: Sequence[dict]) -> Tuple[dict, torch.Tensor]:
    """Collate packed peers into one input tensor (a list where their shapes
    differ) and one label tensor, in the loader's worker.

    Args:
        batch (Sequence[dict]): Samples packed by ``PackInputs``, with
            ``inputs`` and a single-label ``data_samples``.

    Returns:
        tuple[dict, Tensor]: ``dict(inputs=...)`` for the data preprocessor,
        and the ``(N,)`` labels.
    """
    inputs = [sample['inputs'] for sample in batch]
    if all(x.shape == inputs[0].shape for x in inputs):
        inputs = torch.stack(inputs)
    labels = torch.cat([sample['data_samples'].gt_label for sample in batch])
    return dict(inputs=inputs), labels


@torch.no_grad()
def resample_statistics(model, dataset, labels: np.ndarray,
                        num_peers: Optional[int], seed,
                        stats: PeerStatistics, batch_size: int,
                        num_workers: int, optim_wrapper) -> PeerStatistics:
    """Run ``num_peers`` random samples of every class, this rank's share of
    them, through ``model`` in eval mode (with rank 0's buffers), adding
    their logits to ``stats``.

    Args:
        model (BaseModel): The classifier, unwrapped.
        dataset (Dataset): The training set with the peers' pipeline
            (:func:`peer_dataset`).
        labels (np.ndarray): ``(N,)`` class of every training sample.
        num_peers (int, optional): K per class; None takes every sample.
        seed: The draw's seed (:func:`~mmcolam.soft_labels.draw_peers`).
        stats (PeerStatistics): Where the logits are added.
        batch_size (int): Batch size of the pass.
        num_workers (int): Loader workers.
        optim_wrapper (OptimWrapper): The run's; an ``AmpOptimWrapper``
            runs the pass under autocast in its dtype.

    Returns:
        PeerStatistics: ``stats``.
    """
    peers = draw_peers(labels, stats.num_classes, num_peers, seed)
    rank, world_size = dist.get_dist_info()
    if world_size > 1:
        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)
    loader = DataLoader(
        Subset(dataset, peers[rank::world_size].tolist()),
        batch_size=batch_size,
        num_workers=num_workers,
        collate_fn=collate_peers)
    amp = isinstance(optim_wrapper, AmpOptimWrapper)
    was_training = model.training
    model.eval()
    for data, peer_labels in loader:
        data = model.data_preprocessor(data, False)
        with autocast(
                enabled=amp, dtype=optim_wrapper.cast_dtype if amp else None):
            logits = model(**data, mode='tensor')
        stats.update(logits, peer_labels.to(logits.device))
    model.train(was_training)
    return stats


def real_samples(sampler) -> Optional[int]:
    """This rank's samples in an epoch of a ``DefaultSampler`` before the
    repeated ones it pads the epoch with (global positions past the
    dataset's end); None for other samplers, which do not pad."""
    if not (isinstance(sampler, DefaultSampler) and sampler.round_up):
        return None
    return len(range(sampler.rank, len(sampler.dataset), sampler.world_size))


# The online mode's running sums across a stage's last epochs: when they are
# gathered for a checkpoint, what a checkpoint holds, and how a resumed run
# continues them.


def checkpoint_due(runner, checkpoint_hooks) -> bool:
    """Whether one of the iteration-based ``checkpoint_hooks`` may save after
    this iteration, by its own schedule (``interval`` from ``save_begin``,
    ``save_last``, and ``save_best`` after a validation)."""
    loop = runner.train_loop
    step = runner.iter + 1
    validates = runner.val_loop is not None and step >= loop.val_begin \
        and (step % loop.val_interval == 0 or step == loop.max_iters)
    return any(
        h.every_n_train_iters(runner, h.interval, h.save_begin)
        or (h.save_last and h.is_last_train_iter(runner))
        or (h.save_best is not None and validates)
        for h in checkpoint_hooks if not h.by_epoch)


class OnlineWindow:
    """The running sums of one rank while a window is open: the head adds
    every training batch to them (``COLAMHead.start_peer_window``).

    Args:
        head (COLAMHead): The head whose training logits are summed.
        new_statistics (Callable[[], PeerStatistics]): Makes empty sums.
    """

    def __init__(self, head, new_statistics: Callable[[], PeerStatistics]):
        self.head = head
        self.new_statistics = new_statistics
        self.stats: Optional[PeerStatistics] = None  # the open window's
        self.restored = None  # (sums, iteration) from a checkpoint
        self.gathered = False

    def plan(self, interval: int, max_steps: int, steps: int) -> None:
        """Sum the last ``steps`` steps (epochs or iterations) of every stage
        of ``interval`` steps that an update ends (of ``max_steps``)."""
        self.interval, self.max_steps, self.steps = interval, max_steps, steps

    def contains(self, step: int) -> bool:
        """Whether ``step`` (1-based) is in a window."""
        end = -(-step // self.interval) * self.interval  # the stage's end
        return end < self.max_steps and end - step < self.steps

    def begin_step(self,
                   iteration: int,
                   in_window: bool,
                   samples: Optional[int] = None) -> None:
        """Before a training step (epoch or iteration) that starts after
        ``iteration`` iterations: open the window if the step is in it and
        it is not open, and count at most ``samples`` samples of an epoch
        (not the repeats a sampler pads an epoch with)."""
        self.gathered = False
        if in_window and self.stats is None:
            self._open(iteration)
        if samples is not None and self.stats is not None:
            self.stats.samples_left = samples

    def _open(self, iteration: int) -> None:
        stats = self.new_statistics()
        # Only a resumed run continues a window's sums: its iteration
        # counter is the one the checkpoint was saved at.
        if self.restored is not None and self.restored[1] == iteration:
            sums = self.restored[0]
            if sums.shape != stats.table.shape:
                raise ValueError(
                    'the checkpoint holds online peer statistics of shape '
                    f'{tuple(sums.shape)}, but the head has '
                    f'num_classes={self.head.num_classes}')
            if dist.get_rank() == 0:
                stats.table.copy_(sums)
        self.restored = None
        self.stats = stats
        self.head.start_peer_window(stats)

    def close(self) -> PeerStatistics:
        """Stop summing and return this rank's sums."""
        stats = self.stats or self.new_statistics()
        self.stats = None
        self.head.stop_peer_window()
        return stats

    def gather(self) -> None:
        """Before a checkpoint: sum every rank's partial sums on rank 0,
        which alone saves, so a resumed run continues the same sums."""
        stats = self.stats
        if stats is None:
            return
        stats.all_reduce()
        if dist.get_rank() != 0:
            stats.reset()
        self.gathered = True

    def save(self, checkpoint: dict) -> None:
        """Put the sums into ``checkpoint``: one process holds all of them;
        several only after :meth:`gather`."""
        stats = self.stats
        if stats is not None and (dist.get_world_size() == 1
                                  or self.gathered):
            checkpoint[CHECKPOINT_KEY] = stats.table.cpu().clone()

    def load(self, checkpoint: dict) -> None:
        """Keep the sums a checkpoint holds: :meth:`begin_step` continues
        them in a resumed run."""
        if CHECKPOINT_KEY in checkpoint:
            self.restored = (checkpoint[CHECKPOINT_KEY],
                             checkpoint['meta']['iter'])


# What an update reports: a warning for the rows it kept, one INFO line, the
# table's scalars for the visualizer, and the table and its heatmap in
# work_dir/soft_labels/.

KEPT_REASONS = dict(
    no_peers='no peer samples (none drawn, or with only_correct=True none '
    'classified correctly)',
    nonfinite='a peer output or the new row is NaN or inf',
    true_class_not_top='the new row would not give the class itself the '
    'largest mass (keep_true_class_top=True)')
UNIFORM_REASON = "no peer samples, and empty_rows='uniform' (as OLS)"


def log_update(runner, name: str, iteration: int, table: torch.Tensor,
               report: dict) -> None:
    """Log the update ``name`` (e.g. ``'epoch 5'``) made at training
    ``iteration``, its new ``table`` and the ``report`` of kept rows
    (:func:`~mmcolam.soft_labels.soft_labels_from_statistics`)."""
    for reason, mask in report.items():
        kept = torch.nonzero(mask).flatten().tolist()
        if kept:
            # The step makes every update's message new: MMEngine's logger
            # drops a warning identical to an earlier one.
            runner.logger.warning(
                f'SoftLabelHook: after {name}, classes {listed(kept)} ' +
                (f'get the uniform soft label: {UNIFORM_REASON}' if reason ==
                 'uniform' else
                 f'keep their previous soft label: {KEPT_REASONS[reason]}'))
    summary = soft_label_summary(table)
    rows_kept = int(
        sum(m.sum().item() for k, m in report.items() if k in KEPT_REASONS))
    runner.logger.info(
        f'SoftLabelHook: soft labels after {name} '
        f'({table.size(0) - rows_kept} rows updated, {rows_kept} kept): ' +
        ', '.join(f'{k}={v:.4f}' for k, v in summary.items()))
    summary['rows_kept'] = rows_kept
    runner.visualizer.add_scalars(
        {f'soft_labels/{k}': v
         for k, v in summary.items()}, step=iteration)


def target_formula(head) -> str:
    """How a COLAMHead's training targets come from ``S``, as the heatmap
    writes it (``y``: the one-hot label)."""
    if head.smoothing is not None:
        eps = head.smoothing
        return f'(1 − {eps:g})·y + {eps:g}·offdiag(S)'
    weight = head.hard_label_weight
    if weight == 0:
        return 'y·S'
    return f'{weight:g}·y + {1 - weight:g}·y·S'


class UpdateReporter:
    """Reports every update; the heatmap is drawn in a background thread
    and handed to the visualizer (TensorBoard, W&B, ... backends) once
    :meth:`finish` has waited for it."""

    def __init__(self):
        self.writer = None
        self.iteration = None

    def report(self, runner, name: str, iteration: int, table: torch.Tensor,
               report: dict) -> None:
        """Log the update ``name`` (e.g. ``'epoch 5'``) and save its table
        as ``soft_labels/<name>.npy`` and ``.png`` (rank 0; the heatmap
        shows the head's training targets beside ``S``); call
        :meth:`finish` first, one heatmap is drawn at a time."""
        log_update(runner, name, iteration, table, report)
        if dist.is_main_process():
            classes = getattr(runner.train_dataloader.dataset, 'metainfo',
                              {}).get('classes')
            head = classifier(runner).head
            self.writer = save_soft_label_history(
                osp.join(runner.work_dir, 'soft_labels'),
                name.replace(' ', '_'), table, classes, head.soft_targets,
                target_formula(head))
            self.iteration = iteration

    def finish(self, runner) -> None:
        """Wait for the heatmap being drawn, log the CPU time it took as
        ``soft_labels/heatmap_cpu_seconds`` and give it to the visualizer
        at its update's iteration."""
        writer, self.writer = self.writer, None
        if writer is None:
            return
        writer.join()
        runner.message_hub.update_scalar('soft_labels/heatmap_cpu_seconds',
                                         writer.cpu_seconds)
        if writer.image is not None:
            runner.visualizer.add_image('soft_labels', writer.image,
                                        step=self.iteration)


# The runner's model and checkpoints, as the hook sees them.


def classifier(runner):
    """The runner's model without its wrappers (DDP, and the TTA model that
    testing with ``--tta`` puts around the classifier)."""
    model = runner.model
    model = model.module if is_model_wrapper(model) else model
    return model.module if isinstance(model, BaseTTAModel) else model


def check_checkpoint_table(checkpoint: dict,
                           num_classes: int,
                           resuming: bool,
                           source: str,
                           logger,
                           allow_zero_rows: bool = False) -> None:
    """Check the soft-label table of a checkpoint: refuse one that is not a
    table of soft labels; for another number of classes, refuse to resume
    and warn when loading (``load_from``).

    Args:
        checkpoint (dict): The loaded checkpoint.
        num_classes (int): The head's C.
        resuming (bool): Whether the run resumes.
        source (str): The checkpoint's name in messages.
        logger (MMLogger): For the warning.
        allow_zero_rows (bool): Accept all-zero rows (a head whose table
            starts at zeros). Defaults to False.
    """
    state = checkpoint.get('state_dict', {})
    table = next((v for k, v in state.items()
                  if k in ('head.soft_labels', 'module.head.soft_labels')),
                 None)
    if table is None:
        return
    if tuple(table.shape) == (num_classes, num_classes):
        check_soft_label_table(table, f"{source}: head.soft_labels",
                               allow_zero_rows)
        return
    message = (f'the checkpoint\'s head.soft_labels has shape '
               f'{tuple(table.shape)}, but model.head.num_classes='
               f'{num_classes} needs ({num_classes}, {num_classes})')
    if resuming:
        raise ValueError(
            f'SoftLabelHook: cannot resume: {message}. Resume only a run '
            'with the same classes, or start a new run from its weights '
            'with load_from=... (without resume)')
    logger.warning(
        f'SoftLabelHook: load_from: {message}, so its soft labels are '
        'not loaded and training starts from hard labels (the identity)')


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
