"""Class-wise self-knowledge distillation, CS-KD (Yun et al., CVPR 2020).

Paper: "Regularizing Class-wise Predictions via Self-knowledge Distillation"
(Yun, Park, Lee, Shin). The defaults ``temperature=4`` and ``lambda_cls=1``
are the authors' (``--temp`` and ``--lamda`` of their ``train.py``).

The authors' code runs the network twice (the anchors with gradients, then
the partners under ``torch.no_grad``, each half with its own BatchNorm
statistics): :class:`CSKDClassifier` does the same, and the configs use it.
In a plain ``ImageClassifier`` the backbone sees all ``2n`` images in one
pass instead (joint BatchNorm statistics; the partners' activations stay in
memory until the backward pass although their logits are detached). Batch
augmentations (Mixup, CutMix) would mix samples across pairs and are
refused.
"""
import torch
import torch.nn.functional as F
from mmpretrain.models.heads import LinearClsHead
from mmpretrain.registry import MODELS

from mmcolam.argument_checks import check_number, check_temperature
from .batch_labels import accuracy_items, class_indices


@MODELS.register_module()
class CSKDHead(LinearClsHead):
    r"""Linear head whose loss pulls together predictions of same-class pairs.

    Train it with :class:`ClassPairSampler`, which lays each per-rank batch
    out as ``n`` same-class (anchor, partner) pairs, anchors at even and
    partners at odd positions. With anchor logits :math:`z`, label :math:`y`
    and the partner's logits :math:`\bar z'` (detached), the loss averaged
    over the anchors is :math:`\mathrm{CE}(z, y) + \lambda_{cls} T^2 \,
    \mathrm{KL}(\mathrm{softmax}(\bar z' / T) \,\|\,
    \mathrm{softmax}(z / T))`, logged as ``loss_ce`` (the ``loss`` module,
    on the anchors) and ``loss_cskd``. The features come from the
    classifier: two passes in :class:`CSKDClassifier` (the authors' form),
    one joint pass in ``ImageClassifier``. Mixup/CutMix are refused.
    Prediction is that of :class:`LinearClsHead`.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Channels of the input feature.
        temperature (float): Temperature :math:`T > 0` of both softmaxes in
            the KL term. Defaults to 4.0.
        lambda_cls (float): Weight :math:`\lambda_{cls} \ge 0` of the KL
            term. Defaults to 1.0.
        **kwargs: ``loss``, ``topk``, ``cal_acc`` and ``init_cfg`` of
            :class:`LinearClsHead` (``cal_acc`` measures the anchors).
    """

    def __init__(self,
                 num_classes,
                 in_channels,
                 temperature=4.0,
                 lambda_cls=1.0,
                 **kwargs):
        super().__init__(num_classes, in_channels, **kwargs)
        self.lambda_cls = check_number('CSKDHead: lambda_cls', lambda_cls, 0)
        self.temperature = check_temperature('CSKDHead: temperature',
                                             temperature)

    def _get_loss(self, cls_score, data_samples, **kwargs):
        """Cross-entropy on the anchors and the KL term of the pairs."""
        if cls_score.size(0) % 2:
            raise ValueError(
                f'CSKDHead: a batch of {cls_score.size(0)} samples cannot '
                'hold (anchor, partner) pairs; use ClassPairSampler with an '
                'even train_dataloader.batch_size')
        target = class_indices(data_samples, 'CSKDHead',
                               'that breaks the same-class pairs')
        anchor_target, partner_target = target[0::2], target[1::2]
        if not torch.equal(anchor_target, partner_target):
            raise ValueError(
                'CSKDHead: samples 2i and 2i+1 of the batch must share their '
                'class; build train_dataloader with '
                "sampler=dict(type='ClassPairSampler') and an even batch_size")
        anchor_score = cls_score[0::2]
        partner_score = cls_score[1::2].detach()
        num_anchors = anchor_score.size(0)
        losses = dict(
            loss_ce=self.loss_module(
                anchor_score, anchor_target, avg_factor=num_anchors,
                **kwargs))
        temperature = self.temperature
        kl = F.kl_div(
            F.log_softmax(anchor_score / temperature, dim=1),
            F.log_softmax(partner_score / temperature, dim=1),
            reduction='sum',
            log_target=True) / num_anchors
        losses['loss_cskd'] = self.lambda_cls * temperature**2 * kl
        if self.cal_acc:
            losses.update(
                accuracy_items(anchor_score, anchor_target, self.topk))
        return losses
