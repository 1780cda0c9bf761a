"""CS-KD's two forward passes (Yun et al., CVPR 2020), as the authors run
them.

The authors' ``train.py`` (``alinlab/cs-kd``) runs the network on the
batch's anchors, then, under ``torch.no_grad``, a second time on their
partners, both in training mode: BatchNorm normalises each half with its own
batch statistics and updates its running statistics twice a step (anchors,
then partners). Their published results come from that code, so the CS-KD
configs use this classifier. A plain ``ImageClassifier`` with a
:class:`CSKDHead` runs the cheaper-to-write joint pass instead (one forward
over all ``2n`` images, joint BatchNorm statistics, the partners'
activations kept until the backward pass).
"""
from typing import List

import torch
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mmcolam.models.heads.cskd_head import CSKDHead


@MODELS.register_module()
class CSKDClassifier(ImageClassifier):
    """An :class:`ImageClassifier` whose training loss runs CS-KD's anchors
    and partners in two forward passes, the partners under no_grad.

    The batch is that of :class:`ClassPairSampler` (anchors at even,
    partners at odd positions); the backbone and neck see the anchors first,
    then the partners, and the head's loss gets the features re-interleaved.
    Prediction and ``extract_feat`` are those of :class:`ImageClassifier`.

    Args:
        backbone (dict): The backbone.
        neck (dict, optional): The neck. Defaults to None.
        head (dict, optional): A :class:`CSKDHead`. Defaults to None (which
            is refused: CS-KD needs its head).
        pretrained (str, optional): Pretrained weights. Defaults to None.
        train_cfg (dict, optional): Training settings. Defaults to None.
        data_preprocessor (dict, optional): The data preprocessor. Defaults
            to None.
        init_cfg (dict, optional): Initialisation. Defaults to None.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not isinstance(getattr(self, 'head', None), CSKDHead):
            raise ValueError(
                'CSKDClassifier: model.head is '
                f'{type(getattr(self, "head", None)).__name__}; a CSKDHead '
                "is needed (set model.head.type='CSKDHead')")

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> dict:
        """CS-KD's losses: anchors with gradients, then partners without."""
        if inputs.size(0) % 2:
            raise ValueError(
                f'CSKDClassifier: a batch of {inputs.size(0)} samples cannot '
                'hold (anchor, partner) pairs; use ClassPairSampler with an '
                'even train_dataloader.batch_size')
        anchor_feats = self.extract_feat(inputs[0::2])
        with torch.no_grad():
            partner_feats = self.extract_feat(inputs[1::2])
        feats = tuple(
            torch.stack([anchor, partner], dim=1).flatten(0, 1)
            for anchor, partner in zip(anchor_feats, partner_feats))
        return self.head.loss(feats, data_samples)
