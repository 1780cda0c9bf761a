r"""Teacher-free KD with a manually designed teacher, Tf-KD_reg.

From "Revisiting Knowledge Distillation via Label Smoothing Regularization"
(Yuan, Tay, Li, Wang, Feng, CVPR 2020), built as the authors' code builds it
(``loss_kd_regularization`` in ``my_loss_function.py``):

- the teacher puts :math:`a` (``correct_prob``, 0.99 in their code) on the
  class and :math:`(1 - a) / (C - 1)` elsewhere, and treats that as *logits*
  softened by the temperature :math:`T`: :math:`p^d = softmax(u / T)`, close
  to uniform with the defaults (for C = 100: 0.0105 on the class, 0.0100
  elsewhere);
- the student is not softened on CIFAR-100 (:math:`T_s = 1`; the paper's
  Eq. 9 softens it, which ``student_temperature=T`` restores, with the
  :math:`T_s^2` factor of Hinton et al.'s KD);
- their KL is ``nn.KLDivLoss()`` (a mean over all N C entries) times
  ``multiplier``, i.e. the per-sample KL times ``multiplier / C``: our
  ``kl_weight``, 1 for their ResNet-18 run (multiplier 100, C = 100).

The defaults are that run (``experiments/base_experiments/base_resnet18/
params.json``: ``reg_alpha=0.1``, ``reg_temperature=20``, ``multiplier=100``).
A mixed score (Mixup/CutMix) mixes the cross-entropy's targets and the
classes' teacher distributions alike.
"""
import math

import torch.nn.functional as F
from mmpretrain.registry import MODELS

from mmcolam.argument_checks import check_number, check_temperature
from .utils import PerSampleLoss, per_sample_cross_entropy


@MODELS.register_module()
class TfKDRegLoss(PerSampleLoss):
    r"""Cross-entropy plus a KL term towards a hand-made "virtual teacher":

    .. math::
        \ell = (1 - \alpha)\, CE(softmax(z), y)
               + \alpha \, w \, T_s^2 \, KL(p^d \,\|\, softmax(z / T_s))

    with :math:`p^d` the teacher of the module docstring. The forward pass
    (its arguments, weighting and reduction) is
    :class:`~mmcolam.models.losses.utils.PerSampleLoss`'s.

    Args:
        alpha (float): Weight of the KL term, in ``[0, 1]``.
            Defaults to 0.1.
        temperature (float): The teacher's temperature T. Defaults to 20.0.
        correct_prob (float): The teacher's mass a on the class before
            softening, in ``(0, 1]``. Defaults to 0.99.
        student_temperature (float): T_s. Defaults to 1.0.
        kl_weight (float): w, ``>= 0``. Defaults to 1.0.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
            Defaults to ``'mean'``.
        loss_weight (float): Factor on the whole loss. Defaults to 1.0.
    """

    def __init__(self,
                 alpha=0.1,
                 temperature=20.0,
                 correct_prob=0.99,
                 student_temperature=1.0,
                 kl_weight=1.0,
                 reduction='mean',
                 loss_weight=1.0):
        check_number('TfKDRegLoss: alpha', alpha, 0, 1)
        check_temperature('TfKDRegLoss: temperature', temperature)
        check_number('TfKDRegLoss: correct_prob', correct_prob, 0, 1,
                     open_low=True)
        check_temperature('TfKDRegLoss: student_temperature',
                          student_temperature)
        check_number('TfKDRegLoss: kl_weight', kl_weight, 0)
        super().__init__(reduction, loss_weight)
        self.alpha = float(alpha)
        self.temperature = float(temperature)
        self.correct_prob = float(correct_prob)
        self.student_temperature = float(student_temperature)
        self.kl_weight = float(kl_weight)

    def teacher_probs(self, num_classes):
        """The teacher's probabilities of the true class and of any other.

        Args:
            num_classes (int): Number of classes ``C >= 2``.

        Returns:
            tuple[float, float]: :math:`p^d_y` and :math:`p^d_c` for
            :math:`c \\ne y`.
        """
        if num_classes < 2:
            raise ValueError(f'TfKDRegLoss: needs at least 2 classes, got '
                             f'cls_score with {num_classes}')
        true_logit = self.correct_prob / self.temperature
        other_logit = (1 - self.correct_prob) / (
            (num_classes - 1) * self.temperature)
        largest = max(true_logit, other_logit)
        log_norm = largest + math.log(
            math.exp(true_logit - largest) +
            (num_classes - 1) * math.exp(other_logit - largest))
        return (math.exp(true_logit - log_norm),
                math.exp(other_logit - log_norm))

    def per_sample_loss(self, cls_score, label):
        num_classes = cls_score.size(1)
        if label.dim() == 1:
            target = F.one_hot(label.long(), num_classes).to(cls_score.dtype)
        else:
            target = label.to(cls_score.dtype)
        true_prob, other_prob = self.teacher_probs(num_classes)
        teacher = other_prob + (true_prob - other_prob) * target
        cross_entropy = per_sample_cross_entropy(cls_score, label)
        log_student = F.log_softmax(
            cls_score / self.student_temperature, dim=1)
        kl = (teacher * (teacher.log() - log_student)).sum(dim=1)
        return (1 - self.alpha) * cross_entropy + (
            self.alpha * self.kl_weight * self.student_temperature**2 * kl)

    def extra_repr(self):
        return (f'alpha={self.alpha}, temperature={self.temperature}, '
                f'correct_prob={self.correct_prob}, '
                f'student_temperature={self.student_temperature}, '
                f'kl_weight={self.kl_weight}, ' + super().extra_repr())
