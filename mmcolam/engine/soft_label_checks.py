"""What SoftLabelHook checks before it trusts a model, a schedule or a
checkpoint."""
from mmcolam.argument_checks import check_int
from mmcolam.models.heads.colam_head import COLAMHead
from mmcolam.soft_labels import check_soft_label_table


def check_colam_head(head) -> None:
    """The head must be a COLAMHead whose soft labels no file fixes."""
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


def check_interval(interval: int, max_steps: int, by_epoch: bool) -> None:
    """A stage must be shorter than the run, or S is never updated."""
    if interval >= max_steps:
        unit = 'epochs' if by_epoch else 'iterations'
        raise ValueError(
            f'SoftLabelHook interval={interval} is not shorter than the run '
            f'({max_steps} {unit}), so the soft labels would never be '
            f'updated: use an interval < {max_steps}')


def check_online_window(online_window, interval: int) -> None:
    """A positive int (or None) no longer than the stage."""
    check_int('online_window', online_window, allow_none=True)
    if online_window is not None and online_window > interval:
        raise ValueError(
            f'online_window={online_window} is longer than the stage '
            f'(interval={interval}): use at most {interval}')


def warn_iteration_checkpoints(checkpoint_hooks, logger) -> None:
    """Online sums go into checkpoints at epoch ends only, in an epoch loop:
    warn where a CheckpointHook saves by iteration."""
    if any(not h.by_epoch for h in checkpoint_hooks):
        logger.warning(
            'SoftLabelHook: online peer statistics are saved only in '
            'checkpoints taken at epoch ends; an update after resuming '
            'from a checkpoint saved mid-epoch inside its window counts '
            'only the epochs run after the resume')


def check_checkpoint_table(checkpoint: dict,
                           num_classes: int,
                           resuming: bool,
                           source: str,
                           logger,
                           allow_zero_rows: bool = False) -> None:
    """Check the soft-label table of a checkpoint (``source`` names it):
    refuse one that is not a table of soft labels (a NaN row would train
    to NaN weights; all-zero rows pass with ``allow_zero_rows``, for a head
    whose table starts at zeros), refuse to resume, and warn when loading
    (``load_from``), one for another number of classes.

    MMEngine loads checkpoints with ``strict=False``: a shape mismatch is
    only a warning and the run goes on with the model's own table (the
    identity), which for a resumed COLAM run would silently restart the
    soft labels from hard labels.
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
