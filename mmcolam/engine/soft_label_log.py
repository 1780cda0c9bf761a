"""What SoftLabelHook reports after an update: a warning for the rows it
kept, one INFO line, the table's scalars for the visualizer, and the table
and its heatmap in ``work_dir/soft_labels/``."""
import os.path as osp

import torch
from mmengine import dist

from mmcolam.engine.model_unwrap import classifier
from mmcolam.soft_labels import (listed, save_soft_label_history,
                                 soft_label_summary)

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
