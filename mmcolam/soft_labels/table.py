"""A soft-label table ``S``: the check that a tensor is one, the scalars
that describe it, and the row blocks a large one is processed in."""
from typing import Dict, List

import torch


def row_blocks(num_rows: int, blocks: int = 16):
    """Slices that cut ``num_rows`` rows into at most ``blocks`` blocks, in
    which table-sized work runs (docs/design.md, "The update")."""
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
