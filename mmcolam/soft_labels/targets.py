"""COLAM's training targets from the soft-label table ``S``: the paper's
form (Li et al., Neural Processing Letters 2022, Eq. 4) and the bounded
form."""
from typing import Optional

import torch
import torch.nn.functional as F


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
      class, renormalised (:func:`off_diagonal_rows`); with ``S = I``,
      label smoothing over the ``C - 1`` other classes.

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
    # y @ S from the rows of the classes y names (one for a hard label, at
    # most MAX_GATHERED_CLASSES for Mixup/CutMix); other scores take the
    # product with the whole table.
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
