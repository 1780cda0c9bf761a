"""Soft-label tables on disk: ``.npy`` files and heatmap PNGs."""
import os
import os.path as osp
import threading
import time
from typing import Callable, Optional, Sequence, Tuple

import numpy as np
import torch

from mmcolam.soft_labels import row_blocks

#: Above this many classes no heatmap is drawn: a C x C image is unreadable
#: and costly (at ImageNet-21k, minutes of CPU and tens of GiB per update);
#: the ``.npy`` table and the logged scalars remain.
HEATMAP_MAX_CLASSES = 100

#: Above this many classes an update's table is saved as its
#: :data:`HISTORY_TOP_K` largest entries per row (``<name>_top10.npz`` with
#: ``indices`` and ``values``), not as a full ``.npy``: a full table at
#: ImageNet-21k is 1.8 GB an update. The full table is in every checkpoint
#: (``head.soft_labels``) and in the side file of
#: tools/model_converters/publish_model.py.
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


def mass_text(mass: float) -> str:
    """A probability as the percentage written in a heatmap cell: no
    decimal from 10 % up (``'90'``), one below (``'1.1'``)."""
    percent = 100 * mass
    return f'{percent:.0f}' if round(percent, 1) >= 10 else f'{percent:.1f}'


def soft_label_figure(table: np.ndarray,
                      classes: Optional[Sequence[str]] = None,
                      title: str = '',
                      targets: Optional[np.ndarray] = None,
                      target_formula: str = ''):
    """The heatmap of a ``(C, C)`` soft-label table, a matplotlib ``Figure``
    with an Agg canvas (object API, no pyplot state: safe in a background
    thread).

    With ``targets`` (the training target of each class) that differ from
    ``S``, the figure has two panels: the targets on the left, ``S`` on the
    right. Up to 20 classes every cell shows its mass in percent.

    Args:
        table (np.ndarray): ``S``: row c is the soft label of class c.
        classes (Sequence[str], optional): Class names, the tick labels
            when there are at most 30 (else class indices). Defaults to
            None.
        title (str): Figure title. Defaults to ''.
        targets (np.ndarray, optional): ``(C, C)``: row c is the target the
            loss gives a sample of class c. Defaults to None (``S`` alone).
        target_formula (str): How the targets come from ``S``, for the
            panel title, e.g. ``'(1 − 0.1)·y + 0.1·offdiag(S)'``.
            Defaults to ''.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = [(table, 'S: the soft-label table the updates refresh\n'
               '(the .npy history)', 'soft label')]
    if targets is not None and np.array_equal(targets, table):
        panels = [(table, f'S = the training targets ({target_formula})',
                   'target')]
    elif targets is not None:
        panels.insert(0, (targets, 'training targets (what the loss uses):\n'
                          f'{target_formula}, y = one-hot label', 'target'))
    num_classes = table.shape[0]
    size = min(2 + num_classes * 0.45, 11)  # inches a panel
    # Margins in inches: class names left and below, titles above.
    left, right, bottom, top = 1.3, 1.0, 1.3, 0.9
    width = (size + left + 0.3) * len(panels) + 0.4 + right
    height = size + bottom + top
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    *axes, colorbar_ax = fig.subplots(
        1, len(panels) + 1,
        gridspec_kw=dict(width_ratios=[size] * len(panels) + [0.25]))
    for ax, (values, panel_title, row_name) in zip(axes, panels):
        # One colour scale for every update, so that epochs compare by
        # colour.
        image = ax.imshow(100 * values, cmap='viridis', vmin=0, vmax=100,
                          interpolation='nearest')
        if num_classes <= 20:
            for (row, col), mass in np.ndenumerate(values):
                ax.text(col, row, mass_text(mass), ha='center', va='center',
                        fontsize=9 if num_classes <= 12 else 7,
                        color='white' if mass < 0.5 else 'black')
        ax.set_xlabel('class of the mass')
        ax.set_ylabel(f'true class (row = its {row_name})')
        if num_classes <= 30:
            ticks = np.arange(num_classes)
            names = ticks if classes is None else list(classes)
            ax.set_xticks(ticks, names, rotation=90, fontsize=8)
            ax.set_yticks(ticks, names, fontsize=8)
        ax.set_title(panel_title, fontsize=10)
    fig.colorbar(image, cax=colorbar_ax, label='probability mass (%)')
    fig.suptitle(title)
    # Fixed margins with room for the class names: tight_layout would draw
    # the figure twice, doubling the CPU time taken from training.
    fig.subplots_adjust(left=left / width, right=1 - right / width,
                        bottom=bottom / height, top=1 - top / height,
                        wspace=(left + 0.3) / size)
    return fig


def plot_soft_labels(table: np.ndarray, path: str, *args) -> np.ndarray:
    """Draw :func:`soft_label_figure` (``table`` and ``args``), write it to
    ``path`` (PNG) and return it.

    Returns:
        np.ndarray: the image, ``(H, W, 3)`` uint8 RGB.
    """
    from PIL import Image

    fig = soft_label_figure(table, *args)
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    Image.fromarray(rgb).save(path)
    return rgb


class HeatmapWriter(threading.Thread):
    """Draws one heatmap with :func:`plot_soft_labels` in a background
    thread; after ``join()``, ``image`` is the heatmap (RGB) and
    ``cpu_seconds`` the CPU time it took (what it can take from training on
    a machine short of cores).

    Args:
        table (np.ndarray): The ``(C, C)`` table.
        path (str): Output PNG.
        classes (Sequence[str], optional): Class names. Defaults to None.
        title (str): Figure title. Defaults to ''.
        targets (np.ndarray, optional): The training targets, drawn beside
            the table. Defaults to None.
        target_formula (str): Their formula. Defaults to ''.
    """

    def __init__(self, table, path, classes=None, title='', targets=None,
                 target_formula=''):
        super().__init__()
        self.plot_args = (table, path, classes, title, targets,
                          target_formula)
        self.image = None
        self.cpu_seconds = 0.0

    def run(self):
        start = time.thread_time()
        self.image = plot_soft_labels(*self.plot_args)
        self.cpu_seconds = time.thread_time() - start


def top_k_rows(table: torch.Tensor, k: int) -> Tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest entries of every row, found block by block
    (:func:`~mmcolam.soft_labels.row_blocks`) on the table's device.

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

