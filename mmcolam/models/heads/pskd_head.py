"""Progressive self-knowledge distillation, PS-KD (Kim, Ji, Yoon, Hwang,
ICCV 2021).

Paper: "Self-Knowledge Distillation with Progressive Refinement of Targets".
We follow the authors' code (``lgcnsai/PS-KD-Pytorch``, ``main.py``): their
``alpha_t = alpha_T * (epoch + 1) / end_epoch`` with a 0-based epoch (our
``t / T`` with a 1-based one), the first epoch on the labels (their table
holds the one-hot label there, so the target is ``y`` whatever ``alpha_t``),
and the loss ``(-targets * log_softmax).mean(0).sum()``. The previous
prediction is that of the training forward pass (augmented input, training
mode). As in their code, after the loss of every iteration the batch's
softmax outputs are gathered from all ranks and written to every rank's
table, so all ranks hold the same table.

``alpha_T``: what is known. 0.8 is the default of their ``main.py`` and the
value in every training command of their README (one command template for
CIFAR-100 and ImageNet alike). For ImageNet, a user in their GitHub issue #4
quotes their supplementary material as suggesting 0.3 (found by a random
search with ResNet-152 at batch 512); the authors' reply confirms that
search and says Table 4 was trained at batch 256 with "the optimal
alpha_T", without giving its value. The default here is 0.8.

A sample with no earlier prediction (only possible when the loader skips
samples, e.g. ``drop_last=True``; theirs, without ``drop_last`` and with
``DistributedSampler``'s padding, never does) is trained on its label ``y``
here; their zero-initialised table would give it ``(1 - alpha_t) y``, a
target that does not sum to 1.

The table stays on the CPU (it is not a buffer: not moved to the GPU, not
broadcast by DDP) and :class:`PSKDHook` saves it in checkpoints, not in the
``state_dict``, so the trained model stays a plain ``LinearClsHead``. For
ImageNet (1.28M x 1000) it takes 2.6 GB per process in float16 (5.1 GB in
float32, the authors' type), and as much in every checkpoint; float16 keeps a
probability to a relative 5e-4, far below the effect of ``alpha_t``. Batch
augmentation is refused because a mixed image is not the sample its index
names.
"""
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine import dist
from mmpretrain.models.heads import LinearClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mmcolam.argument_checks import check_number
from .batch_labels import accuracy_items, class_indices

TABLE_DTYPES = {'float16': torch.float16, 'float32': torch.float32}


@MODELS.register_module()
class PSKDHead(LinearClsHead):
    r"""Linear head trained on its own predictions of the previous epoch.

    In epoch :math:`t` of :math:`T` (1-based) a sample :math:`x` of one-hot
    label :math:`y` is trained against :math:`(1 - \alpha_t) y + \alpha_t
    p_{t-1}(x)`, :math:`\alpha_t = \alpha_T t / T`, where :math:`p_{t-1}(x)`
    is its softmax in epoch :math:`t - 1` (:math:`y` in the first epoch and
    if not yet computed). The logged ``pskd_alpha`` is :math:`\alpha_t`, as
    the authors log it, also in the first epoch, where it has no effect.
    The softmax outputs live in an ``(N, C)`` CPU table indexed by the
    ``sample_idx`` metainfo (kept by ``PackInputs``), the same on all ranks.
    :class:`PSKDHook` is required for training: it allocates the table, sets
    the epoch and saves the table in checkpoints. Mixup/CutMix are refused.

    Args:
        num_classes (int): Number of classes C.
        in_channels (int): Channels of the input feature.
        alpha_T (float): :math:`\alpha_T`, the weight of the previous
            predictions in the last epoch, in [0, 1]. Defaults to 0.8 (the
            default of the authors' code; for ImageNet see above).
        table_dtype (str): ``'float16'`` or ``'float32'``, the table's type
            (ImageNet: 2.6 GB per process in float16). Defaults to 'float16'.
        loss (dict): Config of the loss; it receives the logits and the
            ``(N, C)`` targets. Defaults to
            ``dict(type='CrossEntropyLoss', use_soft=True, loss_weight=1.0)``.
        **kwargs: Other arguments of :class:`LinearClsHead` (``topk``,
            ``cal_acc``, ``init_cfg``).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 alpha_T: float = 0.8,
                 table_dtype: str = 'float16',
                 loss: dict = dict(
                     type='CrossEntropyLoss', use_soft=True, loss_weight=1.0),
                 **kwargs):
        super().__init__(num_classes, in_channels, loss=loss, **kwargs)
        self.alpha_T = check_number('PSKDHead: alpha_T', alpha_T, 0, 1,
                                    note='the authors use 0.8')
        self.table_dtype = TABLE_DTYPES[table_dtype]
        # Set by PSKDHook.
        self.predictions: Optional[torch.Tensor] = None
        self.epoch: Optional[int] = None
        self.max_epochs: Optional[int] = None

    # ------------------------------------------------------------- state
    def reset_predictions(self, num_samples: int) -> None:
        """A fresh ``(num_samples, C)`` table of NaN (no sample seen)."""
        self.predictions = torch.full((num_samples, self.num_classes),
                                      float('nan'),
                                      dtype=self.table_dtype)

    def load_predictions(self, table: torch.Tensor) -> None:
        """Take a table saved in a checkpoint (checked against the head)."""
        if table.ndim != 2 or table.size(1) != self.num_classes:
            raise ValueError(
                f'PSKDHead: the checkpoint holds a prediction table of shape '
                f'{tuple(table.shape)}, but the head has '
                f'num_classes={self.num_classes}')
        self.predictions = table.detach().to('cpu', self.table_dtype).clone()

    def set_epoch(self, epoch: int, max_epochs: int) -> None:
        """Train epoch ``epoch`` (0-based) of ``max_epochs`` next."""
        self.epoch = epoch
        self.max_epochs = max_epochs

    @property
    def alpha(self) -> float:
        """:math:`\\alpha_t = \\alpha_T (epoch + 1) / T`."""
        return self.alpha_T * (self.epoch + 1) / self.max_epochs

    # -------------------------------------------------------------- loss
    def soft_targets(self, labels: torch.Tensor,
                     indices: torch.Tensor) -> torch.Tensor:
        """``(1 - alpha_t) y + alpha_t p_{t-1}``, ``y`` in the first epoch
        and for samples not seen yet."""
        hard = F.one_hot(labels, self.num_classes).float()
        if self.epoch == 0 or self.alpha == 0:
            return hard
        previous = self.predictions[indices.cpu()].to(hard.device).float()
        unseen = torch.isnan(previous).any(dim=1, keepdim=True)
        alpha = self.alpha
        soft = (1 - alpha) * hard + alpha * previous
        return torch.where(unseen, hard, soft)

    def _get_loss(self, cls_score: torch.Tensor,
                  data_samples: List[DataSample], **kwargs) -> dict:
        if self.predictions is None or self.epoch is None:
            raise RuntimeError(
                'PSKDHead is training without a PSKDHook, which allocates '
                'its prediction table and sets the epoch: add '
                "custom_hooks=[dict(type='PSKDHook')] to the config")
        labels = class_indices(
            data_samples, 'PSKDHead', 'a mixed image is not the sample whose '
            'previous prediction PS-KD reads')
        if 'sample_idx' not in data_samples[0]:
            raise ValueError(
                'PSKDHead: the data samples carry no sample_idx; keep '
                "'sample_idx' in the meta_keys of PackInputs (its default)")
        indices = torch.tensor([int(s.sample_idx) for s in data_samples],
                               dtype=torch.long, device=cls_score.device)
        num_samples = self.predictions.size(0)
        bad = (indices < 0) | (indices >= num_samples)
        if bad.any():
            raise ValueError(
                f'PSKDHead: sample_idx={int(indices[bad][0])} is outside the '
                f'prediction table of {num_samples} training samples')
        target = self.soft_targets(labels, indices)
        losses = dict(
            loss=self.loss_module(
                cls_score, target, avg_factor=cls_score.size(0), **kwargs),
            pskd_alpha=cls_score.new_tensor(self.alpha))
        self.record(indices, cls_score.detach().float().softmax(dim=1))
        if self.cal_acc:
            losses.update(accuracy_items(cls_score, labels, self.topk))
        return losses

    @torch.no_grad()
    def record(self, indices: torch.Tensor, probs: torch.Tensor) -> None:
        """Write this iteration's predictions, from every rank, to the
        table."""
        indices, probs = all_gather_rows(indices,
                                         probs.to(self.table_dtype))
        self.predictions[indices.cpu()] = probs.cpu()


def all_gather_rows(indices: torch.Tensor,
                    values: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Concatenate ``(indices, values)`` of every rank, in rank order.

    Ranks may hold different numbers of rows (e.g. the last batch without
    ``round_up``): rows are padded to the largest count for the all-gather
    and the padding is dropped.

    Args:
        indices (Tensor): ``(n,)`` integer indices of this rank.
        values (Tensor): ``(n, C)`` rows of this rank, on the same device.

    Returns:
        tuple[Tensor, Tensor]: ``(sum n,)`` indices and ``(sum n, C)`` rows.
        Unchanged when not distributed.
    """
    if dist.get_world_size() == 1:
        return indices, values
    count = torch.tensor([indices.numel()], device=values.device)
    counts = [int(c) for c in dist.all_gather(count)]
    pad = max(counts) - indices.numel()
    indices = F.pad(indices.to(values.device), (0, pad))
    values = F.pad(values, (0, 0, 0, pad))
    gathered_indices = dist.all_gather(indices)
    gathered_values = dist.all_gather(values)
    return (torch.cat([i[:n] for i, n in zip(gathered_indices, counts)]),
            torch.cat([v[:n] for v, n in zip(gathered_values, counts)]))
