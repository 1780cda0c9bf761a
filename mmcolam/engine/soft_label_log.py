"""What SoftLabelHook logs after an update: a warning for the rows it kept,
one INFO line, and the table's scalars for the visualizer."""
import torch

from mmcolam.soft_labels import soft_label_summary

KEPT_REASONS = dict(
    no_peers='no peer samples (with only_correct=True: none classified '
    'correctly)',
    nonfinite='a peer output or the new row is NaN or inf',
    true_class_not_top='the new row would not give the class itself the '
    'largest mass (keep_true_class_top=True)')


def log_update(runner, name: str, iteration: int, table: torch.Tensor,
               report: dict) -> None:
    """Log the update ``name`` (e.g. ``'epoch 5'``) made at training
    ``iteration``, its new ``table`` and the ``report`` of kept rows
    (:func:`~mmcolam.soft_labels.soft_labels_from_statistics`)."""
    for reason, mask in report.items():
        kept = torch.nonzero(mask).flatten().tolist()
        if kept:
            listed = f'{kept[:10]}' if len(kept) <= 10 else \
                f'{kept[:10]} and {len(kept) - 10} more'
            # The step makes every update's message new: MMEngine's logger
            # drops a warning identical to an earlier one.
            runner.logger.warning(
                f'SoftLabelHook: after {name}, classes {listed} keep their '
                f'previous soft label: {KEPT_REASONS[reason]}')
    summary = soft_label_summary(table)
    rows_kept = int(sum(m.sum().item() for m in report.values()))
    runner.logger.info(
        f'SoftLabelHook: soft labels after {name} '
        f'({table.size(0) - rows_kept} rows updated, {rows_kept} kept): ' +
        ', '.join(f'{k}={v:.4f}' for k, v in summary.items()))
    summary['rows_kept'] = rows_kept
    runner.visualizer.add_scalars(
        {f'soft_labels/{k}': v
         for k, v in summary.items()}, step=iteration)
