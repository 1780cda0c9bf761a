"""The new soft-label table from the peer statistics (COLAM, Li et al.,
Neural Processing Letters 2022, Alg. 1 line 14 and Eq. 6)."""
from typing import Optional

import torch

from mmcolam.argument_checks import check_choice
from .peers import PeerStatistics
from .table import row_blocks

#: What a class with no peers gets at an update: its previous row, or 1/C.
EMPTY_ROWS = ('keep', 'uniform')


@torch.no_grad()
def soft_labels_from_statistics(stats: PeerStatistics,
                                previous: torch.Tensor,
                                temperature: float = 1.0,
                                keep_true_class_top: bool = True,
                                momentum: float = 0.0,
                                out: Optional[torch.Tensor] = None,
                                empty_rows: str = 'keep') -> tuple:
    """The new soft-label table from class statistics.

    Row c becomes ``softmax(mean_c / T)`` (``statistic='logits'``) or the
    normalised mean probability (``'probs'``), blended with the previous row
    by ``momentum``. A row keeps its previous value where the class has no
    peers, a peer output or the new row is not finite, or (the guard) the
    new row would not give its own class the largest mass.

    Args:
        stats (PeerStatistics): Reduced statistics.
        previous (Tensor): ``(C, C)`` current table.
        temperature (float): T of ``softmax(mean / T)``. Defaults to 1.0.
        keep_true_class_top (bool): The guard. Defaults to True.
        momentum (float): Weight of the previous table, in [0, 1).
            Defaults to 0.0 (the paper).
        out (Tensor, optional): ``(C, C)`` tensor to write the new table to;
            may be ``previous`` itself. Defaults to None: a new tensor like
            ``previous``.
        empty_rows (str): What a class with no peers gets, ``'keep'`` (its
            previous row) or ``'uniform'`` (``1/C``). Defaults to 'keep'.

    Returns:
        tuple[Tensor, dict]: the new table (``out``) and boolean ``(C,)``
        masks of the rows kept: ``no_peers`` (under ``uniform`` instead,
        and not kept, with ``empty_rows='uniform'``), ``nonfinite`` and
        ``true_class_not_top``.
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
