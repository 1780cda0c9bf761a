"""COLAMHead: a linear head that trains against class-wise soft labels
(COLAM, Li et al., Neural Processing Letters 2022, Eq. 4)."""
from typing import List, Optional

import torch
from mmpretrain.models.heads import LinearClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mmcolam.argument_checks import (check_choice, check_number,
                                     check_temperature)
from mmcolam.soft_labels import (PeerStatistics, check_soft_label_table,
                                 colam_targets, load_table, row_blocks)
from .batch_labels import accuracy_items, batch_labels

#: The forms of COLAMHead's training target.
TARGETS = ('bounded', 'paper')
#: Tables S can start from: hard labels, or no soft label yet (OLS).
INITIAL_TABLES = ('identity', 'zeros')


@MODELS.register_module()
class COLAMHead(LinearClsHead):
    """Linear classification head with a class-wise soft-label table.

    ``soft_labels`` (``S``, a ``(C, C)`` buffer, the identity at start
    unless ``initial_table`` says otherwise, saved in checkpoints) holds
    class c's soft label in row c; :class:`SoftLabelHook` refreshes it, or
    ``soft_label_file`` fixes it (training needs one of them). ``loss``
    compares ``cls_score / T`` with the target of ``target``, ``y`` being
    the one-hot label or Mixup/CutMix score:

    - ``'bounded'``: ``(1 - eps) * y + eps * y @ O`` (``O``: ``S`` with a
      zero diagonal, rows renormalised), never softer than label smoothing;
    - ``'paper'``: ``a * y + (1 - a) * y @ S`` (the paper's Eq. 4 with
      ``a = 0``).

    Prediction is the plain softmax. A :class:`SoftLabelHook` drives the
    head through :meth:`accept_soft_label_updates`, :meth:`update_settings`,
    :meth:`start_peer_window` and :meth:`stop_peer_window`, and writes ``S``
    in place (docs/design.md, "Who does what").

    Args:
        num_classes (int): Number of classes C.
        in_channels (int): Channels of the input feature.
        target (str): ``'bounded'`` or ``'paper'``; it also sets the
            defaults of the hook's update (:meth:`update_settings`).
            Defaults to 'bounded'.
        temperature (float): T of paper Eq. 4. Defaults to 1.0.
        smoothing (float): eps of the bounded form, in (0, 1).
            Defaults to 0.1.
        hard_label_weight (float): a of the paper's form, in [0, 1].
            Defaults to 0.0 (the paper).
        initial_table (str): ``S`` before the first update:
            ``'identity'`` (hard labels) or ``'zeros'`` (no soft label yet,
            as OLS's authors: the target is ``a * y`` until then; needs the
            paper's form and a hook with ``empty_rows='uniform'``).
            Defaults to 'identity'.
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
                 target: str = 'bounded',
                 temperature: float = 1.0,
                 smoothing: float = 0.1,
                 hard_label_weight: float = 0.0,
                 initial_table: str = 'identity',
                 soft_label_file: Optional[str] = None,
                 loss: dict = dict(
                     type='CrossEntropyLoss', use_soft=True, loss_weight=1.0),
                 **kwargs):
        super().__init__(num_classes, in_channels, loss=loss, **kwargs)
        self.target = check_choice('target', target, TARGETS)
        self.temperature = check_temperature('temperature', temperature)
        if smoothing is None:
            raise ValueError(
                "smoothing=None selected the paper's form before mmcolam "
                "0.5: use target='paper'")
        smoothing = check_number('smoothing', smoothing, 0, 1,
                                 open_low=True, open_high=True)
        self.hard_label_weight = check_number(
            'hard_label_weight', hard_label_weight, 0, 1, note='0 = the paper')
        if target == 'bounded' and hard_label_weight:
            raise ValueError(
                f'hard_label_weight={hard_label_weight!r} applies to '
                "target='paper' only, but target='bounded': set "
                "target='paper' to use it")
        #: eps of the bounded form; None for the paper's.
        self.smoothing = smoothing if target == 'bounded' else None
        self.initial_table = check_choice('initial_table', initial_table,
                                          INITIAL_TABLES)
        if initial_table == 'zeros' and target != 'paper':
            raise ValueError(
                "initial_table='zeros' applies to target='paper' only (the "
                f"bounded form has no use for it), but target={target!r}")
        self.register_buffer(
            'soft_labels',
            torch.eye(num_classes) if initial_table == 'identity' else
            torch.zeros(num_classes, num_classes))
        self.soft_label_file = soft_label_file
        # Whether something sets ``soft_labels``: a SoftLabelHook
        # (accept_soft_label_updates), soft_label_file or set_soft_labels();
        # training needs one.
        self.soft_labels_managed = False
        if soft_label_file is not None:
            self.set_soft_labels(
                torch.from_numpy(load_table(soft_label_file)),
                f'soft_label_file={soft_label_file!r}')
        # Where the training logits are summed while a peer window is open
        # (start_peer_window, stop_peer_window).
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

    def accept_soft_label_updates(self) -> None:
        """Let a :class:`SoftLabelHook` refresh ``soft_labels`` in place
        during training (refused where ``soft_label_file`` fixes them)."""
        if self.soft_label_file is not None:
            raise ValueError(
                f'model.head.soft_label_file={self.soft_label_file!r} fixes '
                'the soft labels, so a SoftLabelHook would overwrite them: '
                'remove one of the two')
        self.soft_labels_managed = True

    def start_peer_window(self, stats: PeerStatistics) -> None:
        """Add the logits of every training batch to ``stats`` until
        :meth:`stop_peer_window` (SoftLabelHook's online peers)."""
        self.peer_statistics = stats

    def stop_peer_window(self) -> None:
        """Stop adding training batches to the peer statistics."""
        self.peer_statistics = None

    def true_class_mass(self) -> float:
        """The mass the training targets of hard labels put on the true
        class, averaged over the classes: ``1 - eps`` for 'bounded',
        ``a + (1 - a) * mean(diag(S))`` for 'paper'."""
        if self.target == 'bounded':
            return 1 - self.smoothing
        diagonal = self.soft_labels.diagonal().double().mean().item()
        return self.hard_label_weight + (1 - self.hard_label_weight) * diagonal

    @torch.no_grad()
    def misled_classes(self) -> List[int]:
        """The classes whose training target (for a hard label) puts more
        mass on another class than on their own: the model learns to
        predict that other class for them."""
        misled = []
        for rows in row_blocks(self.num_classes):
            classes = torch.arange(rows.start, rows.stop,
                                   device=self.soft_labels.device)
            targets = self.soft_targets(classes)
            own = targets.gather(1, classes.unsqueeze(1)).squeeze(1)
            misled += classes[own < targets.max(dim=1).values].tolist()
        return misled

    def update_settings(self) -> dict:
        """What the form of the target implies for :class:`SoftLabelHook`'s
        update, where the hook leaves it unset: the guard
        (``keep_true_class_top``) and the update's temperature
        (``label_temperature``). ``'bounded'``: the guard on and T 2;
        ``'paper'``: no guard and this head's T."""
        if self.target == 'paper':
            return dict(keep_true_class_top=False,
                        label_temperature=self.temperature)
        return dict(keep_true_class_top=True, label_temperature=2.0)

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

