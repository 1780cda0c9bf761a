"""What mmcolam's heads read from a batch's data samples: the labels, and
the accuracy items of ``cal_acc``."""
from typing import Dict, List, Sequence

import torch
from mmpretrain.evaluation.metrics import Accuracy
from mmpretrain.structures import DataSample


def batch_labels(data_samples: List[DataSample]) -> torch.Tensor:
    """``(N,)`` class indices, or ``(N, C)`` label scores where a batch
    augmentation (Mixup, CutMix) mixed them."""
    if 'gt_score' in data_samples[0]:
        return torch.stack([s.gt_score for s in data_samples])
    return torch.cat([s.gt_label for s in data_samples])


def class_indices(data_samples: List[DataSample], owner: str,
                  reason: str) -> torch.Tensor:
    """``(N,)`` class indices; a ValueError, starting with ``owner`` and
    giving ``reason``, where a batch augmentation mixed the labels."""
    if 'gt_score' in data_samples[0]:
        raise ValueError(
            f'{owner}: the batch carries gt_score, i.e. a batch augmentation '
            f'(Mixup, CutMix) mixed it; {reason}, so remove '
            "model.train_cfg.augments (the data_preprocessor's "
            'batch_augments)')
    return torch.cat([s.gt_label for s in data_samples])


def accuracy_items(cls_score: torch.Tensor, labels: torch.Tensor,
                   topk: Sequence[int]) -> Dict[str, torch.Tensor]:
    """``accuracy_top-k`` of ``cls_score`` for every k, as MMPretrain's
    ``ClsHead`` logs them with ``cal_acc=True``."""
    if labels.ndim != 1:
        raise ValueError('cal_acc=True is pointless with batch augmentation '
                         'such as Mixup: set it False')
    accuracy = Accuracy.calculate(cls_score, labels, topk=topk)
    return {f'accuracy_top-{k}': a for k, a in zip(topk, accuracy)}
