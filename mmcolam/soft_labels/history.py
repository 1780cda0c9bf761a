"""Soft-label tables on disk: each update's table in
``work_dir/soft_labels/`` (``.npy``, or its top entries, and the heatmap)
and reading a table from a ``.npy`` file."""
import os
import os.path as osp
from typing import Callable, Optional, Sequence, Tuple

import numpy as np
import torch

from .heatmap import HeatmapWriter
from .table import row_blocks

#: Above this many classes no heatmap is drawn (docs/design.md).
HEATMAP_MAX_CLASSES = 100

#: Above this many classes an update's table is saved as its
#: :data:`HISTORY_TOP_K` largest entries per row (``<name>_top10.npz`` with
#: ``indices`` and ``values``), not as a full ``.npy``; the full table is in
#: every checkpoint (``head.soft_labels``).
FULL_HISTORY_MAX_CLASSES = 1000
HISTORY_TOP_K = 10


def load_table(path: str) -> np.ndarray:
    """Read a soft-label table from a ``.npy`` file as float64, or raise a
    ValueError that names the file and what is wrong with it."""
    try:
        table = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise ValueError(f'{path!r} is not a readable .npy file (truncated, '
                         f'or not saved by numpy.save?): {error}') from None
    if not isinstance(table, np.ndarray):
        raise ValueError(f'{path!r} holds several arrays (.npz): save one '
                         '(C, C) table with numpy.save')
    if not (np.issubdtype(table.dtype, np.floating)
            or np.issubdtype(table.dtype, np.integer)):
        raise ValueError(f'{path!r} holds {table.dtype} values: a soft-label '
                         'table holds real numbers')
    return table.astype(np.float64)


def top_k_rows(table: torch.Tensor, k: int) -> Tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest entries of every row, found block by block on the
    table's device.

    Args:
        table (Tensor): ``(C, C)``.
        k (int): Entries a row.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(C, k)`` int32 column indices and
        float32 values, largest first.
    """
    indices, values = [], []
    for rows_slice in row_blocks(table.size(0)):
        top = torch.topk(table[rows_slice].float(), k, dim=1)
        indices.append(top.indices.int().cpu())
        values.append(top.values.cpu())
    return torch.cat(indices).numpy(), torch.cat(values).numpy()


def save_soft_label_history(
        directory: str,
        name: str,
        table: torch.Tensor,
        classes: Optional[Sequence[str]] = None,
        soft_targets: Optional[Callable[[torch.Tensor],
                                        torch.Tensor]] = None,
        target_formula: str = '') -> Optional[HeatmapWriter]:
    """Save ``table`` as ``directory/name.npy`` now (above
    :data:`FULL_HISTORY_MAX_CLASSES` classes, its top entries as
    ``name_top10.npz``), and its heatmap as ``directory/name.png`` in a
    background thread, off the training path (only up to
    :data:`HEATMAP_MAX_CLASSES` classes).

    Args:
        directory (str): Where to save, e.g. ``work_dir/soft_labels``.
        name (str): The update, e.g. ``'epoch_5'``.
        table (Tensor): ``S``, ``(C, C)``.
        classes (Sequence[str], optional): Class names. Defaults to None.
        soft_targets (Callable, optional): Maps ``(N,)`` labels to their
            training targets (:meth:`COLAMHead.soft_targets`); the heatmap
            then shows them beside ``S``. Defaults to None (``S`` alone).
        target_formula (str): How the targets come from ``S``, for the
            heatmap. Defaults to ''.

    Returns:
        HeatmapWriter | None: the started PNG writer (``join()`` it before
        relying on the PNG), or None when no heatmap is drawn.
    """
    os.makedirs(directory, exist_ok=True)
    num_classes = table.size(0)
    if num_classes > FULL_HISTORY_MAX_CLASSES:
        indices, values = top_k_rows(table, HISTORY_TOP_K)
        np.savez(osp.join(directory, f'{name}_top{HISTORY_TOP_K}.npz'),
                 indices=indices, values=values)
        return None
    array = table.detach().float().cpu().numpy()
    np.save(osp.join(directory, f'{name}.npy'), array)
    if num_classes > HEATMAP_MAX_CLASSES:
        return None
    targets = None
    if soft_targets is not None:
        with torch.no_grad():
            targets = soft_targets(
                torch.arange(num_classes, device=table.device))
        targets = targets.float().cpu().numpy()
    writer = HeatmapWriter(array, osp.join(directory, f'{name}.png'),
                           classes,
                           f'soft labels after {name.replace("_", " ")}',
                           targets, target_formula)
    writer.start()
    return writer
