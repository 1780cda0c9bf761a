"""How much can class structure give? Fixed soft-label tables built from a
hard-label model's validation confusions, uniform tables at the same eps,
and the rank correlation between a learned ``S`` and those confusions: the
arithmetic behind ``tools/analysis_tools/class_structure_bound.py``."""
import glob
import os.path as osp
import re
from typing import List, Tuple

import numpy as np
import torch

from mmcolam.soft_labels.targets import off_diagonal_rows


def confusion_table(confusion) -> np.ndarray:
    """The soft-label table of a confusion matrix: row c is where the
    validation samples of class c went when they were misclassified (the
    off-diagonal counts of row c over their sum), with a zero diagonal; a
    class never misclassified gets the uniform row over the other classes.
    It is also the ``O`` that COLAMHead's bounded target takes from it.

    Args:
        confusion (array-like): ``(C, C)`` counts, row = true class,
            column = predicted class.

    Returns:
        np.ndarray: ``(C, C)`` float64 table, rows summing to 1.
    """
    counts = torch.as_tensor(np.asarray(confusion, dtype=np.float64))
    return off_diagonal_rows(counts, torch.arange(len(counts))).numpy()


def top_share(table) -> float:
    """How sharp a table's ``O`` is: the mean over classes of the largest
    entry of its row without the own class, renormalised (``1 / (C - 1)``
    for uniform rows, 1 where every class has a single confusion)."""
    return float(confusion_table(table).max(axis=1).mean())


def uniform_table(num_classes: int) -> np.ndarray:
    """The table of label smoothing over the other classes: ``1 / (C - 1)``
    off the diagonal, 0 on it."""
    return (1 - np.eye(num_classes)) / (num_classes - 1)


def average_ranks(values) -> np.ndarray:
    """Ranks 1..n of ``values``, ties sharing their average rank."""
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind='stable')
    ordered = values[order]
    # Each run of equal values: the mean of the positions it occupies.
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(values)]
    ranks = np.empty(len(values))
    for start, end in zip(starts, ends):
        ranks[order[start:end]] = (start + end + 1) / 2
    return ranks


def rank_correlation(a, b) -> float:
    """Spearman's rank correlation of ``a`` and ``b`` (Pearson's of their
    average ranks); NaN where either is constant."""
    ranks_a, ranks_b = average_ranks(a), average_ranks(b)
    if ranks_a.std() == 0 or ranks_b.std() == 0:
        return float('nan')
    return float(np.corrcoef(ranks_a, ranks_b)[0, 1])


def off_diagonal(matrix) -> np.ndarray:
    """The ``C * (C - 1)`` entries of a ``(C, C)`` matrix off its
    diagonal, row by row."""
    matrix = np.asarray(matrix)
    return matrix[~np.eye(len(matrix), dtype=bool)]


def history_correlations(history_dir: str, confusion) -> List[Tuple]:
    """Per update saved in ``history_dir`` (``epoch_N.npy`` or
    ``iter_N.npy``, in training order): the update's name, the rank
    correlation of its table's off-diagonal with ``confusion``'s, and its
    :func:`top_share`."""
    target = off_diagonal(confusion)

    def step(path):
        name = osp.splitext(osp.basename(path))[0]
        return int(re.search(r'_(\d+)$', name).group(1))

    paths = sorted(glob.glob(osp.join(history_dir, 'epoch_*.npy')) +
                   glob.glob(osp.join(history_dir, 'iter_*.npy')), key=step)
    rows = []
    for path in paths:
        table = np.load(path)
        rows.append((osp.splitext(osp.basename(path))[0],
                     rank_correlation(off_diagonal(table), target),
                     top_share(table)))
    return rows
