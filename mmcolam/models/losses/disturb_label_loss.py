"""DisturbLabel (Xie, Wang, Wei, Wang, Tian, CVPR 2016).

Paper: "DisturbLabel: Regularizing CNN on the Loss Layer". As in the paper,
the uniform draw may return the true class, so only a fraction
``alpha * (C - 1) / C`` of the labels actually changes. The default
``alpha=0.1`` is the smallest of the noise rates the paper evaluates (10%,
20% and 40%).

Draws come from a private CPU ``torch.Generator``, not the global random
stream, so turning the loss on does not change data augmentation or
initialisation; identical seeds give identical draws, and every rank of a
distributed run disturbs its own samples independently (seed ``seed + rank``,
``rank`` from ``mmengine.dist``). A resumed run restarts the stream from its
seed; it does not continue where the interrupted run stopped.
"""
import torch
import torch.nn.functional as F
from mmengine.dist import get_rank
from mmpretrain.registry import MODELS

from mmcolam.argument_checks import check_int, check_number
from .utils import PerSampleLoss, per_sample_cross_entropy


@MODELS.register_module()
class DisturbLabelLoss(PerSampleLoss):
    r"""Cross-entropy on labels that are randomly disturbed in training.

    In every training forward pass each sample independently keeps its label
    with probability :math:`1 - \alpha` and otherwise gets a class drawn
    uniformly from all :math:`C`, the true one included: it ends up with its
    true class with probability :math:`1 - \alpha (C - 1) / C` and with each
    other class with :math:`\alpha / C`. A mixed score (Mixup/CutMix) is
    replaced as a whole by the one-hot score of the drawn class. The loss is
    the cross-entropy with these targets; in eval mode nothing is disturbed.
    Draws use a private generator seeded at the first training call.

    Args:
        alpha (float): Probability, in ``[0, 1]``, that a label is replaced
            by a uniform draw over all classes. Defaults to 0.1.
        seed (int, optional): Base seed of the draws, ``>= 0``; rank ``r``
            uses ``seed + r``. Defaults to None (``torch.initial_seed()``,
            the seed of the Runner's ``randomness``).
        reduction (str): How per-sample losses are reduced: ``'none'``,
            ``'mean'`` or ``'sum'``. Defaults to ``'mean'``.
        loss_weight (float): Factor on the whole loss. Defaults to 1.0.

    The forward pass (its arguments, weighting and reduction) is
    :class:`~mmcolam.models.losses.utils.PerSampleLoss`'s.
    """

    def __init__(self, alpha=0.1, seed=None, reduction='mean',
                 loss_weight=1.0):
        check_number('DisturbLabelLoss: alpha', alpha, 0, 1)
        check_int('DisturbLabelLoss: seed', seed, low=0, allow_none=True)
        super().__init__(reduction, loss_weight)
        self.alpha = float(alpha)
        self.seed = seed
        self._generator = None

    def disturb_labels(self, label, num_classes):
        """Return ``label`` with each row disturbed with probability alpha.

        Args:
            label (Tensor): Class indices ``(N,)`` or scores ``(N, C)``.
            num_classes (int): Number of classes ``C``.

        Returns:
            Tensor: Same shape, dtype and device as ``label``.
        """
        if self._generator is None:
            base_seed = torch.initial_seed() if self.seed is None \
                else self.seed
            self._generator = torch.Generator()
            self._generator.manual_seed((base_seed + get_rank()) % 2**64)
        num_samples = label.size(0)
        replace = torch.rand(num_samples, generator=self._generator) \
            < self.alpha
        drawn = torch.randint(
            num_classes, (num_samples, ), generator=self._generator)
        replace, drawn = replace.to(label.device), drawn.to(label.device)
        if label.dim() == 1:
            return torch.where(replace, drawn.to(label.dtype), label)
        drawn_score = F.one_hot(drawn, num_classes).to(label.dtype)
        return torch.where(replace[:, None], drawn_score, label)

    def per_sample_loss(self, cls_score, label):
        if self.training:
            label = self.disturb_labels(label, cls_score.size(1))
        return per_sample_cross_entropy(cls_score, label)

    def extra_repr(self):
        return f'alpha={self.alpha}, seed={self.seed}, ' + \
            super().extra_repr()
