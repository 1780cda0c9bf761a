"""Checks and the final reduction that mmcolam's losses (and heads) share.

Every error message starts with ``owner``, the name of the class that
checks, so that it says which config entry is wrong.
"""
from mmpretrain.models.losses.cross_entropy_loss import (cross_entropy,
                                                         soft_cross_entropy)
from mmpretrain.models.losses.utils import weight_reduce_loss

from mmcolam.argument_checks import check_choice, check_number

REDUCTIONS = ('none', 'mean', 'sum')


def check_loss_options(owner, reduction, loss_weight):
    """Check the ``reduction`` and ``loss_weight`` arguments of a loss.

    Raises:
        ValueError: ``reduction`` is not one of :data:`REDUCTIONS`, or
            ``loss_weight`` is not a finite number.
    """
    check_choice(f'{owner}: reduction', reduction, REDUCTIONS)
    check_number(f'{owner}: loss_weight', loss_weight)


def get_reduction(owner, reduction, reduction_override):
    """The reduction of one call: ``reduction_override`` or ``reduction``.

    Raises:
        ValueError: the result is not one of :data:`REDUCTIONS`.
    """
    reduction = reduction_override or reduction
    if reduction not in REDUCTIONS:
        raise ValueError(f'{owner}: '
                         f'reduction_override={reduction_override!r} '
                         f'must be None or one of {REDUCTIONS}')
    return reduction


def check_label_shape(owner, label, cls_score):
    """Check that ``label`` holds class indices ``(N,)`` or scores shaped
    like ``cls_score``.

    Raises:
        ValueError: ``label`` is neither.
    """
    if label.dim() != 1 and label.shape != cls_score.shape:
        raise ValueError(
            f'{owner}: label of shape {tuple(label.shape)} must be class '
            'indices (N,) or scores shaped like cls_score '
            f'{tuple(cls_score.shape)}')


def per_sample_cross_entropy(cls_score, label):
    """``(N,)`` cross-entropy of logits ``cls_score`` against class indices
    ``(N,)`` or scores ``(N, C)``, by MMPretrain's ``cross_entropy`` or
    ``soft_cross_entropy``."""
    if label.dim() == 1:
        return cross_entropy(cls_score, label.long(), reduction='none')
    return soft_cross_entropy(cls_score, label, reduction='none')


def reduce_weighted_loss(loss, weight, reduction, avg_factor):
    """Per-sample ``loss`` times the per-sample ``weight`` (cast to float;
    None for none), reduced by ``reduction`` with MMPretrain's
    ``weight_reduce_loss`` (``avg_factor`` divides the sum for ``'mean'``).
    """
    if weight is not None:
        weight = weight.float()
    return weight_reduce_loss(
        loss, weight=weight, reduction=reduction, avg_factor=avg_factor)
