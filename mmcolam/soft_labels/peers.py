"""The peers of a class and the per-class sums of their outputs (COLAM, Li
et al., Neural Processing Letters 2022, Alg. 1)."""
from typing import Optional

import numpy as np
import torch
from mmengine import dist

from mmcolam.argument_checks import check_choice

STATISTICS = ('logits', 'probs')


def draw_peers(labels, num_classes: int, num_peers: Optional[int],
               seed) -> np.ndarray:
    """Indices of ``num_peers`` random samples of every class, reproducible.

    Args:
        labels (np.ndarray): ``(N,)`` class of every training sample.
        num_classes (int): C.
        num_peers (int, optional): K per class; None takes every sample.
        seed: Anything ``numpy.random.default_rng`` accepts, e.g.
            ``[run_seed, update_index]``.

    Returns:
        np.ndarray: sorted by class, then by random key.
    """
    labels = np.asarray(labels, dtype=np.int64)
    if num_peers is None:
        return np.argsort(labels, kind='stable')
    # No loop over classes: sort by (class, random key), take the first K.
    keys = np.random.default_rng(seed).random(len(labels))
    order = np.lexsort((keys, labels))
    sorted_labels = labels[order]
    class_start = np.searchsorted(sorted_labels, np.arange(num_classes))
    rank_in_class = np.arange(len(order)) - class_start[sorted_labels]
    return order[rank_in_class < num_peers]


class PeerStatistics:
    """Per-class sums of peer outputs, their counts and non-finite counts,
    in one float32 ``(C, C + 2)`` tensor, ``table``.

    Args:
        num_classes (int): Number of classes C.
        statistic (str): ``'logits'`` (the paper) or ``'probs'`` (softmax
            probabilities, as Online Label Smoothing). Defaults to 'logits'.
        only_correct (bool): Count only peers the model classifies correctly
            (for a mixed label: whose prediction is the class of largest
            score). Defaults to False.
        device (torch.device, optional): Where to keep the sums.
            Defaults to None (CPU).

    ``samples_left`` (None: no limit) stops counting after that many more
    samples (the online mode: not the repeats that pad an epoch).
    """

    def __init__(self,
                 num_classes: int,
                 statistic: str = 'logits',
                 only_correct: bool = False,
                 device=None):
        check_choice('statistic', statistic, STATISTICS)
        self.num_classes = num_classes
        self.statistic = statistic
        self.only_correct = only_correct
        self.table = torch.zeros(
            num_classes, num_classes + 2, dtype=torch.float32, device=device)
        self.samples_left: Optional[int] = None

    @property
    def sums(self) -> torch.Tensor:
        """``(C, C)``: row c is the sum of the outputs of class c's peers."""
        return self.table[:, :self.num_classes]

    @property
    def counts(self) -> torch.Tensor:
        """``(C,)``: the (possibly fractional, for mixed labels) peer count."""
        return self.table[:, self.num_classes]

    @property
    def nonfinite_counts(self) -> torch.Tensor:
        """``(C,)``: how many of class c's peers had a non-finite output."""
        return self.table[:, self.num_classes + 1]

    @torch.no_grad()
    def update(self, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        """Add a batch of peer outputs.

        Args:
            outputs (Tensor): ``(N, C)`` logits.
            targets (Tensor): ``(N,)`` class indices, or ``(N, C)`` label
                scores (Mixup/CutMix); a sample counts towards class c with
                weight ``targets[n, c]``.
        """
        if self.samples_left is not None:
            outputs = outputs[:self.samples_left]
            targets = targets[:self.samples_left]
            self.samples_left -= len(outputs)
        # Sum in float32 even under autocast (online mode under AMP calls
        # this inside the training forward pass), where the matrix products
        # below would run, and round the class sums, in float16/bfloat16.
        with torch.autocast(self.table.device.type, enabled=False):
            outputs = outputs.detach().float()
            values = outputs.softmax(dim=1) if self.statistic == 'probs' \
                else outputs
            finite = torch.isfinite(values).all(dim=1)
            # Non-finite peers are counted apart (their classes keep their
            # previous row) and zeroed, so that one NaN does not spread to
            # other classes.
            values = torch.cat(
                [torch.where(finite.unsqueeze(1), values, 0.),
                 torch.ones_like(values[:, :1])], dim=1)
            if targets.ndim == 1:
                # Hard labels: add each row to its class, O(N C).
                classes = targets.long()
                keep = finite
                if self.only_correct:
                    keep = keep & (outputs.argmax(dim=1) == classes)
                self.table[:, -1].index_add_(0, classes, (~finite).float())
                self.table[:, :-1].index_add_(0, classes,
                                              values * keep.unsqueeze(1))
                return
            # Label scores (Mixup/CutMix): a sample counts towards class c
            # with weight targets[n, c]; only the non-zero weights are added
            # (two a sample for Mixup/CutMix), so no C x C work per sample.
            weights = targets.detach().float()
            keep = finite
            if self.only_correct:
                keep = keep & (outputs.argmax(dim=1)
                               == weights.argmax(dim=1))
            self.table[:, -1] += weights.T @ (~finite).float()
            sample, cls = torch.nonzero(
                weights * keep.unsqueeze(1), as_tuple=True)
            self.table[:, :-1].index_add_(
                0, cls, values[sample] * weights[sample, cls].unsqueeze(1))

    def all_reduce(self) -> None:
        """Sum the statistics of every rank in place (no-op if not
        distributed)."""
        dist.all_reduce(self.table, op='sum')

    def reset(self) -> None:
        self.table.zero_()
