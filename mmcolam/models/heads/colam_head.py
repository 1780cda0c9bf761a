"""COLAMHead: a linear head that trains against class-wise soft labels."""
from typing import List, Optional

import numpy as np
import torch
from mmpretrain.models.heads import LinearClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mmcolam.argument_checks import check_number, check_temperature
from mmcolam.soft_label_history import load_table
from mmcolam.soft_labels import PeerStatistics, colam_targets
from .batch_labels import accuracy_items, batch_labels


@MODELS.register_module()
class COLAMHead(LinearClsHead):
    """Linear classification head with a class-wise soft-label table.

    The head owns ``soft_labels``, a ``(C, C)`` buffer whose row c is the
    soft label of every sample of class c; it starts as the identity (hard
    labels) and is saved in checkpoints. Training is the loss of
    ``cls_score / T`` against targets built from ``S`` and ``y``, the one-hot
    label or the mixed score built by Mixup/CutMix (with the default loss,
    ``-sum_j target_j log softmax_j(z / T)``, paper Eq. 4):

    - ``smoothing=eps`` (default): ``target = (1 - eps) * y + eps * y @ O``,
      where row c of ``O`` is row c of ``S`` without class c, renormalised:
      label smoothing whose ``eps`` goes where COLAM learns the class is
      confused, so a target is never softer than label smoothing's.
    - ``smoothing=None``: the paper's ``target = a * y + (1 - a) * y @ S``
      (``a = hard_label_weight``, 0 in the paper).
    Prediction is unchanged (softmax of the plain logits), so a trained model
    is an ordinary MMPretrain classifier.

    ``S`` is refreshed by :class:`SoftLabelHook`, which also marks the head as
    managed; training a head that is neither managed by the hook nor given
    ``soft_label_file`` raises an error at the first iteration.

    Args:
        num_classes (int): Number of classes C.
        in_channels (int): Channels of the input feature.
        temperature (float): T of paper Eq. 4, also the soft-label update's
            unless SoftLabelHook sets ``label_temperature``. Defaults to 1.0
            (the paper recommends 1 to 2 and uses 2 in our paper configs).
        smoothing (float, optional): eps of the bounded form, in (0, 1);
            None selects the paper's form. Defaults to 0.1.
        hard_label_weight (float): a of the paper's form, in [0, 1];
            only with ``smoothing=None``. Defaults to 0.0 (the paper).
        soft_label_file (str, optional): A ``.npy`` ``(C, C)`` table of soft
            labels to train against, fixed (no SoftLabelHook needed), e.g. one
            that a COLAM run wrote to ``work_dir/soft_labels/``.
            Defaults to None.
        loss (dict): Config of the loss; it receives ``cls_score / T`` and
            ``(N, C)`` soft targets. Defaults to
            ``dict(type='CrossEntropyLoss', use_soft=True, loss_weight=1.0)``.
        **kwargs: Other arguments of :class:`LinearClsHead` (``topk``,
            ``cal_acc``, ``init_cfg``).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 temperature: float = 1.0,
                 smoothing: Optional[float] = 0.1,
                 hard_label_weight: float = 0.0,
                 soft_label_file: Optional[str] = None,
                 loss: dict = dict(
                     type='CrossEntropyLoss', use_soft=True, loss_weight=1.0),
                 **kwargs):
        super().__init__(num_classes, in_channels, loss=loss, **kwargs)
        self.temperature = check_temperature('temperature', temperature)
        self.hard_label_weight = check_number(
            'hard_label_weight', hard_label_weight, 0, 1, note='0 = the paper')
        if smoothing is not None:
            smoothing = check_number(
                'smoothing', smoothing, 0, 1, open_low=True, open_high=True,
                note="or None for the paper's form")
            if hard_label_weight:
                raise ValueError(
                    f'hard_label_weight={hard_label_weight!r} applies to the '
                    f'paper\'s form only, but smoothing={smoothing!r}: set '
                    'smoothing=None to use hard_label_weight')
        self.smoothing = smoothing
        self.register_buffer('soft_labels', torch.eye(num_classes))
        self.soft_label_file = soft_label_file
        if soft_label_file is not None:
            self.soft_labels.copy_(
                load_soft_label_file(soft_label_file, num_classes))
        # Set by SoftLabelHook: whether it refreshes ``soft_labels``, and,
        # in its online mode, where training logits are accumulated.
        self.managed_by_hook = False
        self.peer_statistics: Optional[PeerStatistics] = None

    def soft_targets(self, labels: torch.Tensor) -> torch.Tensor:
        """Targets for hard labels ``(N,)`` or label scores ``(N, C)``
        (:func:`mmcolam.soft_labels.colam_targets`)."""
        return colam_targets(labels, self.soft_labels, self.smoothing,
                             self.hard_label_weight)

    def _get_loss(self, cls_score: torch.Tensor,
                  data_samples: List[DataSample], **kwargs) -> dict:
        if not (self.managed_by_hook or self.soft_label_file):
            raise RuntimeError(
                'COLAMHead is training without a SoftLabelHook, so its soft '
                'labels would stay hard labels: add custom_hooks=[dict(type='
                "'SoftLabelHook', interval=...)] to the config, or give "
                'soft_label_file=... to train against fixed soft labels.')
        labels = batch_labels(data_samples)
        if self.peer_statistics is not None:
            self.peer_statistics.update(cls_score, labels)
        target = self.soft_targets(labels)
        losses = dict(
            loss=self.loss_module(
                cls_score / self.temperature,
                target,
                avg_factor=cls_score.size(0),
                **kwargs))
        if self.cal_acc:
            losses.update(accuracy_items(cls_score, labels, self.topk))
        return losses


def load_soft_label_file(path: str, num_classes: int) -> torch.Tensor:
    """Load and check a ``(C, C)`` soft-label table saved with numpy."""
    table = load_table(path)
    if table.shape != (num_classes, num_classes):
        raise ValueError(
            f'soft_label_file={path!r} holds a table of shape {table.shape}, '
            f'but the head has num_classes={num_classes}: expected shape '
            f'({num_classes}, {num_classes})')
    if not np.isfinite(table).all() or (table < 0).any() or not np.allclose(
            table.sum(axis=1), 1, atol=1e-4):
        raise ValueError(
            f'soft_label_file={path!r} is not a table of soft labels: every '
            'entry must be finite and >= 0 and every row must sum to 1')
    return torch.from_numpy(table.astype(np.float32))
