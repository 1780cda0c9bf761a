"""SoftLabelHook: refreshes a COLAMHead's soft labels at every stage end."""
import os.path as osp
import time
from typing import Optional, Sequence

from mmengine import dist
from mmengine.hooks import CheckpointHook, Hook
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop
from mmpretrain.registry import HOOKS

from mmcolam.argument_checks import (check_bool, check_choice, check_int,
                                     check_number, check_temperature)
from mmcolam.engine.peers import (peer_dataset, real_samples,
                                  resample_statistics, training_labels)
from mmcolam.engine.soft_label_log import log_update
from mmcolam.models.heads.colam_head import COLAMHead
from mmcolam.soft_label_history import save_soft_label_history
from mmcolam.soft_labels import (STATISTICS, PeerStatistics,
                                 soft_labels_from_statistics)

PEER_MODES = ('resample', 'online')
CHECKPOINT_KEY = 'soft_label_peer_statistics'


@HOOKS.register_module()
class SoftLabelHook(Hook):
    """Alternate COLAM's two minimisations: refresh the soft labels of the
    model's :class:`COLAMHead` at the end of every stage but the last.

    Training is split into stages of ``interval`` epochs (iterations, for an
    iteration-based loop). At the end of each stage the hook collects class
    statistics of peer outputs, reduces them across ranks and sets every row
    of ``S`` to ``softmax(mean logits / T)`` (paper Alg. 1, Eq. 6), with ``T``
    the head's temperature. The update that would fall on the last epoch is
    skipped: nothing trains after it.

    Where peers come from (``peer_mode``):

    - ``'resample'`` (the paper): ``num_peers`` random training samples per
      class, drawn reproducibly from the run's seed and the stage, run in eval
      mode through the test pipeline (no augmentation), sharded across ranks.
    - ``'online'``: no extra pass; the detached logits of the training
      forward passes of the last ``online_window`` epochs (iterations) of the
      stage are accumulated, with mixed labels weighting their classes, each
      sample once an epoch (not the repeats a ``DefaultSampler`` pads with).

    Each update writes ``S`` to ``work_dir/soft_labels/`` (``.npy`` and a
    heatmap ``.png``, also given to the visualizer's ``add_image``) and logs
    ``soft_labels/mean_entropy`` and ``soft_labels/true_class_mass``. ``S``
    lives in the head's state dict, so checkpoints and resume carry it;
    online statistics gathered before a checkpoint inside a window are saved
    with it.

    Args:
        interval (int): Epochs (iterations) per stage, t in the paper.
        peer_mode (str): ``'resample'`` or ``'online'``.
            Defaults to 'resample'.
        num_peers (int, optional): K peers per class in resample mode; None
            takes all of the class's samples. Defaults to 100 (the largest K
            of the paper's grid, Fig. 4; accuracy is insensitive to K >= 5).
        statistic (str): ``'logits'`` (the paper) or ``'probs'``.
            Defaults to 'logits'.
        only_correct (bool): Use only correctly classified peers.
            Defaults to False.
        keep_true_class_top (bool): The guard: a class whose new soft label
            would not give its own class the largest mass keeps its previous
            row. False restores the paper's behaviour. Defaults to True.
        momentum (float): ``S <- m * S + (1 - m) * S_new``, in [0, 1).
            Defaults to 0.0 (the paper).
        label_temperature (float, optional): T of ``softmax(mean / T)`` in
            the update; None uses the head's temperature (the paper).
            Defaults to 2.0 (chosen on validation data with the head's
            bounded form, README).
        online_window (int, optional): In online mode, how many epochs
            (iterations) before each update to accumulate; None is one epoch
            (for iteration loops, one epoch's worth of iterations, at most
            ``interval``). Defaults to None.
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
                 keep_true_class_top: bool = True,
                 momentum: float = 0.0,
                 label_temperature: Optional[float] = 2.0,
                 online_window: Optional[int] = None,
                 peer_pipeline: Optional[Sequence[dict]] = None,
                 peer_batch_size: Optional[int] = None):
        check_int('interval', interval)
        check_choice('peer_mode', peer_mode, PEER_MODES)
        check_int('num_peers', num_peers, allow_none=True)
        check_choice('statistic', statistic, STATISTICS)
        check_bool('only_correct', only_correct)
        check_bool('keep_true_class_top', keep_true_class_top)
        momentum = check_number('momentum', momentum, 0, 1, open_high=True,
                                note='0 = the paper')
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
        self.label_temperature = label_temperature
        self.online_window = online_window
        self.peer_pipeline = peer_pipeline
        self.peer_batch_size = peer_batch_size
        self._restored_statistics = None
        self._png_writer = None

    # ------------------------------------------------------------------ setup
    @staticmethod
    def _model(runner):
        model = runner.model
        model = model.module if is_model_wrapper(model) else model
        # Testing with --tta wraps the classifier in a TTA model.
        return model.module if isinstance(model, BaseTTAModel) else model

    def before_run(self, runner) -> None:
        head = getattr(self._model(runner), 'head', None)
        if not isinstance(head, COLAMHead):
            raise TypeError(
                'SoftLabelHook refreshes the soft labels of a COLAMHead, but '
                f'the model head is {type(head).__name__}: set model.head.'
                "type='COLAMHead' or remove the SoftLabelHook")
        if head.soft_label_file is not None:
            raise ValueError(
                f'model.head.soft_label_file={head.soft_label_file!r} fixes '
                'the soft labels, so a SoftLabelHook would overwrite them: '
                'remove one of the two')
        head.managed_by_hook = True
        self.head = head

    def before_train(self, runner) -> None:
        loop = runner.train_loop
        self.by_epoch = isinstance(loop, EpochBasedTrainLoop)
        self.max_steps = loop.max_epochs if self.by_epoch else loop.max_iters
        unit = 'epochs' if self.by_epoch else 'iterations'
        if self.interval >= self.max_steps:
            raise ValueError(
                f'SoftLabelHook interval={self.interval} is not shorter than '
                f'the run ({self.max_steps} {unit}), so the soft labels would '
                f'never be updated: use an interval < {self.max_steps}')
        if self.online_window is None:
            self.window = 1 if self.by_epoch else min(
                len(runner.train_dataloader), self.interval)
        else:
            self.window = self.online_window
        dataset = runner.train_dataloader.dataset
        self.labels = training_labels(
            dataset, self.head.num_classes,
            getattr(self._model(runner).data_preprocessor, 'num_classes',
                    None), self.peer_mode == 'resample', runner.logger)
        if self.peer_mode == 'resample':
            self.peer_dataset = peer_dataset(runner.cfg, dataset,
                                             self.peer_pipeline)
        self.checkpoint_hooks = [
            h for h in runner.hooks if isinstance(h, CheckpointHook)
        ]
        if self.peer_mode == 'online' and self.by_epoch and any(
                not h.by_epoch for h in self.checkpoint_hooks):
            runner.logger.warning(
                'SoftLabelHook: online peer statistics are saved only in '
                'checkpoints taken at epoch ends; an update after resuming '
                'from a checkpoint saved mid-epoch inside its window counts '
                'only the epochs run after the resume')

    # ------------------------------------------------------------ scheduling
    def _stage_end(self, step: int) -> int:
        """The update step (1-based) that closes the stage of ``step``."""
        return -(-step // self.interval) * self.interval

    def _in_window(self, step: int) -> bool:
        end = self._stage_end(step)
        return end < self.max_steps and end - step < self.window

    def _start_online(self, runner, step: int) -> None:
        self._consolidated = False
        if self.peer_mode != 'online' or not self._in_window(step):
            return
        if self.head.peer_statistics is None:
            stats = self._new_statistics()
            restored = self._restored_statistics
            # Only a resumed run continues a window's sums: its iteration
            # counter is the one the checkpoint was saved at.
            if restored is not None and restored[1] == runner.iter:
                if restored[0].shape != stats.table.shape:
                    raise ValueError(
                        'the checkpoint holds online peer statistics of shape '
                        f'{tuple(restored[0].shape)}, but the head has '
                        f'num_classes={self.head.num_classes}')
                if dist.get_rank() == 0:
                    stats.table.copy_(restored[0])
            self._restored_statistics = None
            self.head.peer_statistics = stats

    def before_train_epoch(self, runner) -> None:
        if self.by_epoch:
            self._start_online(runner, runner.epoch + 1)
            if self.head.peer_statistics is not None:
                self.head.peer_statistics.samples_left = real_samples(
                    runner.train_dataloader.sampler)

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if not self.by_epoch:
            self._start_online(runner, runner.iter + 1)

    def after_train_epoch(self, runner) -> None:
        if self.by_epoch:
            self._after_step(runner, runner.epoch + 1, checkpoint_due=True)

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None) -> None:
        if not self.by_epoch:
            self._after_step(runner, runner.iter + 1,
                             checkpoint_due=self._save_due(runner))

    def _save_due(self, runner) -> bool:
        """Whether a CheckpointHook may save after this iteration, by its own
        schedule (``interval`` from ``save_begin``, ``save_last``, and
        ``save_best`` after a validation), so that every rank gathers the
        online sums before it does."""
        loop = runner.train_loop
        step = runner.iter + 1
        validates = runner.val_loop is not None and step >= loop.val_begin \
            and (step % loop.val_interval == 0 or step == loop.max_iters)
        return any(
            h.every_n_train_iters(runner, h.interval, h.save_begin)
            or (h.save_last and h.is_last_train_iter(runner))
            or (h.save_best is not None and validates)
            for h in self.checkpoint_hooks if not h.by_epoch)

    def _after_step(self, runner, step: int, checkpoint_due: bool) -> None:
        if step % self.interval == 0 and step < self.max_steps:
            self.update(runner, step)
        elif checkpoint_due and self.head.peer_statistics is not None:
            # Gather the window's partial sums on rank 0, which alone saves
            # checkpoints, so that a resumed run continues with the same sums.
            stats = self.head.peer_statistics
            stats.all_reduce()
            if dist.get_rank() != 0:
                stats.reset()
            self._consolidated = True

    # ---------------------------------------------------------------- update
    def _new_statistics(self) -> PeerStatistics:
        return PeerStatistics(
            self.head.num_classes,
            self.statistic,
            self.only_correct,
            device=self.head.soft_labels.device)

    def update(self, runner, step: int) -> None:
        """Refresh ``S`` from the peers of the stage that ends at ``step``.

        The costs COLAM adds to a run go to the message hub (and so into
        checkpoints): the update's wall time as
        ``soft_labels/update_seconds``, the CPU time of the heatmap it draws
        in a background thread as ``soft_labels/heatmap_cpu_seconds``.
        """
        self._wait_for_png(runner)  # one writer at a time
        start = time.perf_counter()
        if self.peer_mode == 'online':
            stats = self.head.peer_statistics or self._new_statistics()
            self.head.peer_statistics = None
        else:
            train_loader = runner.train_dataloader
            stats = resample_statistics(
                self._model(runner), self.peer_dataset, self.labels,
                self.num_peers, [runner.seed or 0, step],
                self._new_statistics(),
                self.peer_batch_size or train_loader.batch_size,
                train_loader.num_workers, runner.optim_wrapper)
        stats.all_reduce()
        head = self.head
        # In place: the update needs no second (C, C) table.
        table, report = soft_labels_from_statistics(
            stats, head.soft_labels, self.label_temperature
            or head.temperature,
            self.keep_true_class_top, self.momentum, out=head.soft_labels)
        dist.broadcast(table, src=0)  # bitwise identical on every rank
        self._report(runner, step, table, report)
        runner.message_hub.update_scalar('soft_labels/update_seconds',
                                         time.perf_counter() - start)

    def _report(self, runner, step, table, report) -> None:
        unit = 'epoch' if self.by_epoch else 'iter'
        iteration = self._iterations_done(runner)
        log_update(runner, f'{unit} {step}', iteration, table, report)
        if dist.is_main_process():
            classes = getattr(runner.train_dataloader.dataset, 'metainfo',
                              {}).get('classes')
            self._png_writer = save_soft_label_history(
                osp.join(runner.work_dir, 'soft_labels'), f'{unit}_{step}',
                table, classes)
            self._png_step = iteration

    def _iterations_done(self, runner) -> int:
        """The training iterations done at the update, where the logged
        scalars and images go (an epoch loop has counted its last iteration
        when ``after_train_epoch`` runs; an iteration loop has not when
        ``after_train_iter`` does)."""
        return runner.iter + (0 if self.by_epoch else 1)

    def after_run(self, runner) -> None:
        self._wait_for_png(runner)
        # Rank 0 may still be drawing the last heatmap: no rank leaves (and
        # tears down its process group) before the others are done.
        dist.barrier()

    def _wait_for_png(self, runner) -> None:
        """Finish the heatmap being drawn, and hand it to the visualizer
        (TensorBoard, W&B, ... backends), at the update's iteration."""
        writer = self._png_writer
        if writer is None:
            return
        writer.join()
        runner.message_hub.update_scalar('soft_labels/heatmap_cpu_seconds',
                                         writer.cpu_seconds)
        self._png_writer = None
        if writer.image is not None:
            runner.visualizer.add_image('soft_labels', writer.image,
                                        step=self._png_step)

    # ------------------------------------------------------------ checkpoint
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # One process holds all its sums; several gathered them on rank 0
        # when a save was due (_save_due; every epoch end).
        single = dist.get_world_size() == 1
        if self.head.peer_statistics is not None and (
                single or getattr(self, '_consolidated', False)):
            checkpoint[CHECKPOINT_KEY] = \
                self.head.peer_statistics.table.cpu().clone()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._check_checkpoint_classes(runner, checkpoint)
        if CHECKPOINT_KEY in checkpoint:
            self._restored_statistics = (checkpoint[CHECKPOINT_KEY],
                                         checkpoint['meta']['iter'])

    def _check_checkpoint_classes(self, runner, checkpoint: dict) -> None:
        """Refuse to resume, and warn when loading (``load_from``), a
        checkpoint whose soft-label table is for another number of classes.

        MMEngine loads checkpoints with ``strict=False``: a shape mismatch is
        only a warning and the run goes on with the model's own table (the
        identity), which for a resumed COLAM run would silently restart the
        soft labels from hard labels.
        """
        head = getattr(self, 'head', None)
        state = checkpoint.get('state_dict', {})
        table = next((v for k, v in state.items()
                      if k in ('head.soft_labels', 'module.head.soft_labels')),
                     None)
        if head is None or table is None:
            return
        num_classes = head.num_classes
        if tuple(table.shape) == (num_classes, num_classes):
            return
        message = (f'the checkpoint\'s head.soft_labels has shape '
                   f'{tuple(table.shape)}, but model.head.num_classes='
                   f'{num_classes} needs ({num_classes}, {num_classes})')
        if getattr(runner, '_resume', False):
            raise ValueError(
                f'SoftLabelHook: cannot resume: {message}. Resume only a run '
                'with the same classes, or start a new run from its weights '
                'with load_from=... (without resume)')
        runner.logger.warning(
            f'SoftLabelHook: load_from: {message}, so its soft labels are '
            'not loaded and training starts from hard labels (the identity)')
