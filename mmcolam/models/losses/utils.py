"""What mmcolam's losses share: the forward pass around a per-sample loss.

Every error message starts with the name of the loss class, so that it says
which config entry is wrong.
"""
import torch.nn as nn
from mmpretrain.models.losses.cross_entropy_loss import (cross_entropy,
                                                         soft_cross_entropy)
from mmpretrain.models.losses.utils import weight_reduce_loss

from mmcolam.argument_checks import check_choice, check_number

REDUCTIONS = ('none', 'mean', 'sum')


class PerSampleLoss(nn.Module):
    """Base class of mmcolam's losses: a per-sample loss, weighted, reduced
    and scaled by ``loss_weight``, called as MMPretrain's heads call a loss.

    A subclass checks its own arguments, calls
    ``super().__init__(reduction, loss_weight)`` and defines
    :meth:`per_sample_loss`; its ``extra_repr`` puts its own settings before
    this one's.

    Args:
        reduction (str): How per-sample losses are reduced: ``'none'``,
            ``'mean'`` or ``'sum'``.
        loss_weight (float): Factor on the whole loss.
    """

    def __init__(self, reduction, loss_weight):
        super().__init__()
        owner = type(self).__name__
        check_choice(f'{owner}: reduction', reduction, REDUCTIONS)
        check_number(f'{owner}: loss_weight', loss_weight)
        self.reduction = reduction
        self.loss_weight = float(loss_weight)

    def per_sample_loss(self, cls_score, label):
        """The ``(N,)`` loss of logits ``cls_score`` ``(N, C)`` against
        ``label``, class indices ``(N,)`` or scores ``(N, C)`` (checked)."""
        raise NotImplementedError

    def forward(self,
                cls_score,
                label,
                weight=None,
                avg_factor=None,
                reduction_override=None):
        """Compute the loss.

        Args:
            cls_score (Tensor): Logits, shape ``(N, C)``.
            label (Tensor): Class indices ``(N,)`` or scores ``(N, C)``
                (one-hot, or mixed by Mixup/CutMix).
            weight (Tensor, optional): Per-sample weights ``(N,)``.
                Defaults to None.
            avg_factor (float, optional): Divisor of the summed loss when the
                reduction is ``'mean'``. Defaults to None.
            reduction_override (str, optional): Replaces ``reduction`` for
                this call. Defaults to None.

        Returns:
            Tensor: the reduced loss (shape ``(N,)`` when the reduction is
            ``'none'``), times ``loss_weight``.

        Raises:
            ValueError: ``reduction_override`` is not None or one of
                :data:`REDUCTIONS`, or ``label`` is neither class indices
                nor scores shaped like ``cls_score``.
        """
        owner = type(self).__name__
        reduction = reduction_override or self.reduction
        if reduction not in REDUCTIONS:
            raise ValueError(f'{owner}: '
                             f'reduction_override={reduction_override!r} '
                             f'must be None or one of {REDUCTIONS}')
        if label.dim() != 1 and label.shape != cls_score.shape:
            raise ValueError(
                f'{owner}: label of shape {tuple(label.shape)} must be class '
                'indices (N,) or scores shaped like cls_score '
                f'{tuple(cls_score.shape)}')
        loss = self.per_sample_loss(cls_score, label)
        if weight is not None:
            weight = weight.float()
        loss = weight_reduce_loss(
            loss, weight=weight, reduction=reduction, avg_factor=avg_factor)
        return self.loss_weight * loss

    def extra_repr(self):
        return f'reduction={self.reduction!r}, loss_weight={self.loss_weight}'


def per_sample_cross_entropy(cls_score, label):
    """``(N,)`` cross-entropy of logits ``cls_score`` against class indices
    ``(N,)`` or scores ``(N, C)``, by MMPretrain's ``cross_entropy`` or
    ``soft_cross_entropy``."""
    if label.dim() == 1:
        return cross_entropy(cls_score, label.long(), reduction='none')
    return soft_cross_entropy(cls_score, label, reduction='none')
