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
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from mmcolam.argument_checks import check_number
from .utils import PerSampleLoss, per_sample_cross_entropy


@MODELS.register_module()
class ConfidencePenaltyLoss(PerSampleLoss):
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

    The forward pass (its arguments, weighting and reduction) is
    :class:`~mmcolam.models.losses.utils.PerSampleLoss`'s.
    """

    def __init__(self, beta=0.1, reduction='mean', loss_weight=1.0):
        check_number('ConfidencePenaltyLoss: beta', beta, 0)
        super().__init__(reduction, loss_weight)
        self.beta = float(beta)

    def per_sample_loss(self, cls_score, label):
        log_prob = F.log_softmax(cls_score, dim=1)
        negative_entropy = (log_prob.exp() * log_prob).sum(dim=1)
        return per_sample_cross_entropy(cls_score, label) + \
            self.beta * negative_entropy

    def extra_repr(self):
        return f'beta={self.beta}, ' + super().extra_repr()
