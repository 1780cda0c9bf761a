"""Confidence Penalty (Pereyra et al., ICLR workshop 2017).

Paper: "Regularizing Neural Networks by Penalizing Confident Output
Distributions" (Pereyra, Tucker, Chorowski, Kaiser, Hinton). The penalty is
the *negative* entropy, so minimising the loss pushes the entropy of the
prediction up; adding ``beta * H(p)`` instead, as some public implementations
do, rewards confident outputs: the opposite regulariser. The default
``beta=0.1`` is the weight the paper selected for its CIFAR-10 DenseNet
experiment, the setting closest to the CIFAR benchmarks of COLAM (the paper
tunes the weight per task).
"""
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from mmcolam.argument_checks import check_number
from .utils import (check_label_shape, check_loss_options, get_reduction,
                    per_sample_cross_entropy, reduce_weighted_loss)


@MODELS.register_module()
class ConfidencePenaltyLoss(nn.Module):
    r"""Cross-entropy minus ``beta`` times the entropy of the prediction.

    With :math:`p = \mathrm{softmax}(z)` and target :math:`y` (one-hot, or the
    mixed score that Mixup/CutMix build), the per-sample loss is
    :math:`-\sum_j y_j \log p_j - \beta H(p) = -\sum_j y_j \log p_j + \beta
    \sum_j p_j \log p_j`: minimising it raises the entropy of the prediction
    (less confident outputs).

    Args:
        beta (float): Weight of the negative entropy, ``>= 0``; 0 gives plain
            cross-entropy. Defaults to 0.1.
        reduction (str): How per-sample losses are reduced: ``'none'``,
            ``'mean'`` or ``'sum'``. Defaults to ``'mean'``.
        loss_weight (float): Factor on the whole loss. Defaults to 1.0.

    Returns (forward):
        Tensor: the reduced loss (shape ``(N,)`` when the reduction is
        ``'none'``).
    """

    def __init__(self, beta=0.1, reduction='mean', loss_weight=1.0):
        super().__init__()
        check_number('ConfidencePenaltyLoss: beta', beta, 0)
        check_loss_options('ConfidencePenaltyLoss', reduction, loss_weight)
        self.beta = float(beta)
        self.reduction = reduction
        self.loss_weight = float(loss_weight)

    def forward(self,
                cls_score,
                label,
                weight=None,
                avg_factor=None,
                reduction_override=None):
        """Compute the loss.

        Args:
            cls_score (Tensor): Logits, shape ``(N, C)``.
            label (Tensor): Class indices ``(N,)`` or scores ``(N, C)``.
            weight (Tensor, optional): Per-sample weights ``(N,)``.
                Defaults to None.
            avg_factor (float, optional): Divisor of the summed loss when the
                reduction is ``'mean'``. Defaults to None.
            reduction_override (str, optional): Replaces ``reduction`` for
                this call. Defaults to None.
        """
        reduction = get_reduction('ConfidencePenaltyLoss', self.reduction,
                                  reduction_override)
        check_label_shape('ConfidencePenaltyLoss', label, cls_score)
        log_prob = F.log_softmax(cls_score, dim=1)
        negative_entropy = (log_prob.exp() * log_prob).sum(dim=1)
        loss = per_sample_cross_entropy(cls_score, label) + \
            self.beta * negative_entropy
        loss = reduce_weighted_loss(loss, weight, reduction, avg_factor)
        return self.loss_weight * loss

    def extra_repr(self):
        return (f'beta={self.beta}, reduction={self.reduction!r}, '
                f'loss_weight={self.loss_weight}')
