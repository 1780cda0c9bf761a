"""The soft-label math of COLAM, with no runner in it.

Peer outputs are summed per class (:class:`PeerStatistics`), the sums are
reduced across ranks, and the class means become the rows of the soft-label
table ``S`` (:func:`soft_labels_from_statistics`, paper Alg. 1 lines 9-14 and
Eq. 6: the minimiser of ``sum 1/2 ||y - f(x)||^2`` over a class's peers is
their mean, and the new row is ``softmax(mean / T)``).
"""
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from mmengine import dist

from mmcolam.argument_checks import check_choice

STATISTICS = ('logits', 'probs')
#: What a class with no peers gets at an update: its previous row, or 1/C.
EMPTY_ROWS = ('keep', 'uniform')


class PeerStatistics:
    """Per-class sums of peer outputs, their counts and non-finite counts.

    Everything is kept in float32 whatever the compute type (AMP), in one
    ``(C, C + 2)`` tensor so a single all-reduce synchronises it.

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
    samples: the online mode sets it at each epoch start to this rank's share
    of the dataset, so the repeated samples a ``DefaultSampler`` pads the
    epoch with are not counted twice.
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


def row_blocks(num_rows: int, blocks: int = 16):
    """Slices that cut ``num_rows`` rows into at most ``blocks`` blocks: the
    table-sized work runs block by block, so that its temporaries take about
    ``1 / blocks`` of a table (at ImageNet-21k one table is 1.8 GiB)."""
    step = -(-num_rows // blocks)
    return [slice(i, min(i + step, num_rows))
            for i in range(0, num_rows, step)]


def listed(ids: List[int], most: int = 10) -> str:
    """``ids`` (class or row indices) for a message: the first ``most``,
    then how many more."""
    if len(ids) <= most:
        return f'{ids}'
    return f'{ids[:most]} and {len(ids) - most} more'


def check_soft_label_table(table: torch.Tensor,
                           source: str,
                           allow_zero_rows: bool = False) -> None:
    """Raise ``ValueError`` naming ``source`` and the rows of the ``(C, C)``
    ``table`` that are not soft labels: every entry finite and >= 0, every
    row summing to 1 (within 1e-4), or, with ``allow_zero_rows`` (a table
    that starts at zeros, as OLS's), all zero."""
    table = table.detach().double()
    sums = table.sum(dim=1)
    sums_ok = torch.isclose(sums, torch.ones_like(sums), rtol=0, atol=1e-4)
    if allow_zero_rows:
        sums_ok |= (table == 0).all(dim=1)
    bad = ~torch.isfinite(table).all(dim=1) | (table < 0).any(dim=1) | \
        ~sums_ok
    rows = torch.nonzero(bad).flatten().tolist()
    if rows:
        raise ValueError(
            f'{source} is not a table of soft labels: rows {listed(rows)} are '
            'not '
            '(every entry must be finite and >= 0 and every row must sum '
            'to 1)')


@torch.no_grad()
def soft_labels_from_statistics(stats: PeerStatistics,
                                previous: torch.Tensor,
                                temperature: float = 1.0,
                                keep_true_class_top: bool = True,
                                momentum: float = 0.0,
                                out: Optional[torch.Tensor] = None,
                                empty_rows: str = 'keep') -> tuple:
    """Turn class statistics into a new soft-label table.

    Row c becomes ``softmax(mean_c / T)`` for ``statistic='logits'`` (paper
    Eq. 6 and Alg. 1 line 14) or the normalised mean probability for
    ``statistic='probs'``. A class with no peers keeps its previous row
    (``empty_rows='keep'``) or gets the uniform row ``1/C`` (``'uniform'``,
    as OLS). A row keeps its previous value when a peer output or the new
    row is not finite, or (with
    ``keep_true_class_top``) when the new row would not give its own class
    the largest mass. Rows that change are then blended as
    ``momentum * previous + (1 - momentum) * new``.

    Rows are computed in blocks (:func:`row_blocks`), each from its own
    previous rows only, so ``out`` may be ``previous`` itself: the update then
    needs no second table.

    Args:
        stats (PeerStatistics): Reduced statistics.
        previous (Tensor): ``(C, C)`` current table.
        temperature (float): T of ``softmax(mean / T)``. Defaults to 1.0.
        keep_true_class_top (bool): The guard. Defaults to True.
        momentum (float): Weight of the previous table, in [0, 1).
            Defaults to 0.0 (the paper).
        out (Tensor, optional): ``(C, C)`` tensor to write the new table to.
            Defaults to None: a new tensor like ``previous``.
        empty_rows (str): What a class with no peers gets, ``'keep'`` (its
            previous row) or ``'uniform'``. Defaults to 'keep'.

    Returns:
        tuple[Tensor, dict]: the new ``(C, C)`` table (``out``) and a dict of
        boolean ``(C,)`` masks of the rows kept: ``no_peers`` (none drawn, or
        with ``only_correct`` none classified correctly; with
        ``empty_rows='uniform'`` these are under ``uniform`` instead, and
        not kept), ``nonfinite`` (a peer output or the new row is NaN or
        inf) and ``true_class_not_top``.
    """
    check_choice('empty_rows', empty_rows, EMPTY_ROWS)
    if out is None:
        out = torch.empty_like(previous)
    num_classes = stats.num_classes
    device = stats.table.device
    names = ('no_peers', 'nonfinite', 'true_class_not_top')
    if empty_rows == 'uniform':
        names = ('uniform', ) + names[1:]
    report = {name: torch.zeros(num_classes, dtype=torch.bool, device=device)
              for name in names}
    for rows_slice in row_blocks(num_classes):
        counts = stats.counts[rows_slice]
        any_nonfinite = stats.nonfinite_counts[rows_slice] > 0
        # A class whose peers were all non-finite has no count either: it is
        # reported as non-finite, not as a class without peers.
        no_peers = (counts <= 0) & ~any_nonfinite
        rows = stats.sums[rows_slice] / counts.clamp(min=1e-12).unsqueeze(1)
        if stats.statistic == 'logits':
            rows = torch.softmax(rows.div_(temperature), dim=1)
        else:
            rows.div_(rows.sum(dim=1, keepdim=True))
        finite = torch.isfinite(rows)
        nonfinite = any_nonfinite | ((counts > 0) & ~finite.all(dim=1))
        rows.masked_fill_(~finite, 0.)
        del finite
        own = torch.arange(rows_slice.start, rows_slice.stop, device=device)
        own_mass = rows[torch.arange(len(rows), device=device), own]
        not_top = ~no_peers & ~nonfinite & (own_mass < rows.max(dim=1).values)
        if empty_rows == 'uniform':
            rows[no_peers] = 1 / num_classes
            report['uniform'][rows_slice] = no_peers
            keep = nonfinite.clone()
        else:
            report['no_peers'][rows_slice] = no_peers
            keep = no_peers | nonfinite
        if keep_true_class_top:
            keep = keep | not_top
            report['true_class_not_top'][rows_slice] = not_top
        report['nonfinite'][rows_slice] = nonfinite
        previous_rows = previous[rows_slice].to(rows)
        rows = torch.where(keep.unsqueeze(1), previous_rows, rows)
        if momentum:
            rows.mul_(1 - momentum).add_(previous_rows, alpha=momentum)
        out[rows_slice] = rows.to(out)
    return out, report


def off_diagonal_rows(rows: torch.Tensor,
                      classes: torch.Tensor) -> torch.Tensor:
    """Rows of a soft-label table without their own class, renormalised.

    Args:
        rows (Tensor): ``(N, C)`` rows of ``S``.
        classes (Tensor): ``(N,)`` the class each row belongs to.

    Returns:
        Tensor: ``(N, C)``, zero at each row's own class and summing to 1;
        a row with no off-diagonal mass (hard labels, ``S = I``) becomes
        uniform over the other ``C - 1`` classes.
    """
    num_classes = rows.size(1)
    own = F.one_hot(classes, num_classes).bool()
    off = rows.masked_fill(own, 0.)
    total = off.sum(dim=1, keepdim=True)
    uniform = (~own).to(rows.dtype) / max(num_classes - 1, 1)
    return torch.where(total > 0, off / total.clamp(min=1e-30), uniform)


#: Label scores with at most this many non-zeros a row (Mixup, CutMix mix
#: two samples) get their targets from the rows of those classes alone:
#: ``O(N k C)``, not the ``O(N C^2)`` of a product with the whole table.
MAX_GATHERED_CLASSES = 2


def colam_targets(labels: torch.Tensor,
                  table: torch.Tensor,
                  smoothing: Optional[float] = None,
                  hard_label_weight: float = 0.0) -> torch.Tensor:
    """The training targets of COLAM for a batch.

    - ``smoothing=None``, the paper's form (Eq. 4), with the hard-label weight
      ``a``: ``target = a * y + (1 - a) * y @ S``.
    - ``smoothing=eps``, the bounded form: ``target = (1 - eps) * y +
      eps * y @ O``, where row c of ``O`` is row c of ``S`` without its own
      class, renormalised (:func:`off_diagonal_rows`). The true class keeps
      exactly ``1 - eps``, as with label smoothing; COLAM only learns where
      the other ``eps`` goes. With ``S = I`` it is label smoothing that
      spreads ``eps`` over the ``C - 1`` other classes.

    ``y @ S`` (``y @ O``) is computed from the rows of the classes ``y``
    names: one row a sample for hard labels, at most
    :data:`MAX_GATHERED_CLASSES` weighted rows for Mixup/CutMix scores; only
    other scores (e.g. label-smoothed) take the product with the whole
    table.

    Args:
        labels (Tensor): ``(N,)`` class indices or ``(N, C)`` label scores
            (Mixup/CutMix).
        table (Tensor): ``(C, C)`` soft-label table ``S``.
        smoothing (float, optional): eps. Defaults to None (the paper).
        hard_label_weight (float): a, for the paper's form.
            Defaults to 0.0.

    Returns:
        Tensor: ``(N, C)`` targets, each summing to 1.
    """
    num_classes = table.size(0)
    if labels.ndim == 1:
        hard = F.one_hot(labels, num_classes).to(table.dtype)
        rows = _table_rows(table, labels, smoothing)
    else:
        hard = labels.to(table.dtype)
        # Non-zeros a row (on a GPU, one wait for the device a batch).
        mixed = int((hard != 0).sum(dim=1).max())
        if mixed <= MAX_GATHERED_CLASSES:
            classes = hard.abs().topk(mixed, dim=1).indices  # the non-zeros
            rows = (hard.gather(1, classes).unsqueeze(2) *
                    _table_rows(table, classes, smoothing)).sum(dim=1)
        else:
            rows = table if smoothing is None else off_diagonal_rows(
                table, torch.arange(num_classes, device=table.device))
            rows = hard @ rows
    weight = hard_label_weight if smoothing is None else 1 - smoothing
    if weight == 0:
        return rows
    return weight * hard + (1 - weight) * rows


def _table_rows(table: torch.Tensor, classes: torch.Tensor,
                smoothing: Optional[float]) -> torch.Tensor:
    """Rows of ``S`` (with ``smoothing``, of ``O``) for ``classes`` of any
    shape: ``(*classes.shape, C)``."""
    flat = classes.flatten()
    rows = table[flat]
    if smoothing is not None:
        rows = off_diagonal_rows(rows, flat)
    return rows.view(*classes.shape, -1)


@torch.no_grad()
def soft_label_summary(table: torch.Tensor) -> Dict[str, float]:
    """Scalars that describe a soft-label table (computed block by block,
    :func:`row_blocks`).

    Returns:
        dict: ``mean_entropy`` (nats, averaged over rows) and
        ``true_class_mass`` (mean of the diagonal).
    """
    entropy = 0.0
    for rows_slice in row_blocks(table.size(0)):
        rows = table[rows_slice].float()
        entropy -= (rows * rows.clamp(min=1e-12).log()).sum().item()
    return dict(
        mean_entropy=entropy / table.size(0),
        true_class_mass=table.diagonal().float().mean().item())


def draw_peers(labels, num_classes: int, num_peers: Optional[int],
               seed) -> np.ndarray:
    """Indices of ``num_peers`` random samples of every class, reproducible.

    Vectorised (no loop over classes): every sample gets a random key, the
    samples are sorted by (class, key) and the first ``num_peers`` of each
    class are taken.

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
    keys = np.random.default_rng(seed).random(len(labels))
    order = np.lexsort((keys, labels))
    sorted_labels = labels[order]
    class_start = np.searchsorted(sorted_labels, np.arange(num_classes))
    rank_in_class = np.arange(len(order)) - class_start[sorted_labels]
    return order[rank_in_class < num_peers]
