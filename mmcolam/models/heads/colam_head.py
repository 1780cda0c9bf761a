"""COLAMHead: a linear head that trains against class-wise soft labels.

COLAM: "COLAM: Co-Learning of Deep Neural Networks and Soft Labels via
Alternating Minimization" (Li, Xiong, An, Xu, Dou, Neural Processing Letters
2022). The loss is the paper's Eq. 4, with the default loss
``-sum_j target_j log softmax_j(z / T)``. The paper's target is
``a * y + (1 - a) * y @ S`` with ``a = 0`` (``smoothing=None``); our default
(``smoothing=0.1``) is instead label smoothing whose ``eps`` goes where COLAM
learns the class is confused, so a target is never softer than label
smoothing's. The paper recommends a temperature of 1 to 2; our configs that
reproduce its tables use 2 with ``smoothing=None``. A table that a COLAM run
wrote to ``work_dir/soft_labels/`` can be trained against, fixed, as
``soft_label_file``.
"""
from typing import List, Optional

import torch
from mmpretrain.models.heads import LinearClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mmcolam.argument_checks import check_number, check_temperature
from mmcolam.soft_label_history import load_table
from mmcolam.soft_labels import (PeerStatistics, check_soft_label_table,
                                 colam_targets)
from .batch_labels import accuracy_items, batch_labels


@MODELS.register_module()
class COLAMHead(LinearClsHead):
    """Linear classification head with a class-wise soft-label table.

    ``soft_labels`` (``S``, a ``(C, C)`` buffer, identity at start, saved in
    checkpoints) holds class c's soft label in row c; :class:`SoftLabelHook`
    refreshes it, or ``soft_label_file`` fixes it (training needs one of
    them). ``loss`` compares ``cls_score / T`` with ``(1 - eps) * y + eps * y
    @ O`` (default; ``O``: ``S`` with a zero diagonal, rows renormalised) or
    the paper's ``a * y + (1 - a) * y @ S`` (``smoothing=None``), ``y`` the
    one-hot label or Mixup/CutMix score. Prediction is the plain softmax.

    Args:
        num_classes (int): Number of classes C.
        in_channels (int): Channels of the input feature.
        temperature (float): T of paper Eq. 4, also the hook's update's unless
            it sets ``label_temperature``. Defaults to 1.0.
        smoothing (float, optional): eps of the bounded form, in (0, 1);
            None selects the paper's form. Defaults to 0.1.
        hard_label_weight (float): a of the paper's form, in [0, 1], used only
            with ``smoothing=None``. Defaults to 0.0 (the paper).
        soft_label_file (str, optional): A fixed ``.npy`` ``(C, C)`` table to
            train against instead of the hook's. Defaults to None.
        loss (dict): Config of the loss, given ``cls_score / T`` and ``(N, C)``
            targets. Defaults to
            ``dict(type='CrossEntropyLoss', use_soft=True, loss_weight=1.0)``.
        **kwargs: Other arguments of :class:`LinearClsHead`.
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
        # Whether something sets ``soft_labels``: a SoftLabelHook,
        # soft_label_file or set_soft_labels(); training needs one.
        self.soft_labels_managed = False
        if soft_label_file is not None:
            self.set_soft_labels(
                torch.from_numpy(load_table(soft_label_file)),
                f'soft_label_file={soft_label_file!r}')
        # Where SoftLabelHook's online mode sums the training logits.
        self.peer_statistics: Optional[PeerStatistics] = None

    def set_soft_labels(self, table: torch.Tensor,
                        source: str = 'table') -> None:
        """Train against ``table``, a ``(C, C)`` tensor whose row c is class
        c's soft label, without a SoftLabelHook (e.g. a schedule of one's
        own). ``source`` names the table in errors."""
        shape = (self.num_classes, self.num_classes)
        if tuple(table.shape) != shape:
            raise ValueError(
                f'{source} holds a table of shape {tuple(table.shape)}, but '
                f'the head has num_classes={self.num_classes}: expected '
                f'shape {shape}')
        check_soft_label_table(table, source)
        self.soft_labels.copy_(table)
        self.soft_labels_managed = True

    def soft_targets(self, labels: torch.Tensor) -> torch.Tensor:
        """Targets for hard labels ``(N,)`` or label scores ``(N, C)``
        (:func:`mmcolam.soft_labels.colam_targets`)."""
        return colam_targets(labels, self.soft_labels, self.smoothing,
                             self.hard_label_weight)

    def _get_loss(self, cls_score: torch.Tensor,
                  data_samples: List[DataSample], **kwargs) -> dict:
        if not self.soft_labels_managed:
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

