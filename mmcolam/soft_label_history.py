"""Soft-label tables on disk: ``.npy`` files and heatmap PNGs."""
import os
import os.path as osp
import threading
import time
from typing import Optional, Sequence

import numpy as np

#: Above this many classes no heatmap is drawn: a C x C image is unreadable
#: and costly (at ImageNet-21k, minutes of CPU and tens of GiB per update);
#: the ``.npy`` table and the logged scalars remain.
HEATMAP_MAX_CLASSES = 100


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


def plot_soft_labels(table: np.ndarray,
                     path: str,
                     classes: Optional[Sequence[str]] = None,
                     title: str = '') -> None:
    """Write a heatmap of a ``(C, C)`` soft-label table to ``path``.

    Uses matplotlib's object API (no pyplot state), so it is safe to call
    from a background thread.

    Args:
        table (np.ndarray): Row c is the soft label of class c.
        path (str): Output PNG.
        classes (Sequence[str], optional): Class names; shown as tick labels
            when there are at most 30. Defaults to None.
        title (str): Figure title. Defaults to ''.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    num_classes = table.shape[0]
    size = min(4 + num_classes * 0.3, 12)
    fig = Figure(figsize=(size + 1.5, size))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    # One colour scale for every update, so that epochs compare by colour.
    image = ax.imshow(table, cmap='viridis', vmin=0, vmax=1,
                      interpolation='nearest')
    fig.colorbar(image, ax=ax, label='probability mass')
    if num_classes <= 20:
        for (row, col), mass in np.ndenumerate(table):
            ax.text(col, row, f'{mass:.2f}', ha='center', va='center',
                    fontsize=6, color='white' if mass < 0.5 else 'black')
    ax.set_xlabel('class of the mass')
    ax.set_ylabel('true class (row = its soft label)')
    if classes is not None and num_classes <= 30:
        ticks = np.arange(num_classes)
        ax.set_xticks(ticks, list(classes), rotation=90, fontsize=7)
        ax.set_yticks(ticks, list(classes), fontsize=7)
    ax.set_title(title)
    # Fixed margins with room for the class names: tight_layout would draw
    # the figure twice, doubling the CPU time taken from training.
    fig.subplots_adjust(left=0.2, bottom=0.2, right=0.95, top=0.93)
    fig.savefig(path, dpi=100)


class HeatmapWriter(threading.Thread):
    """Draws one heatmap with :func:`plot_soft_labels` in a background
    thread; after ``join()``, ``cpu_seconds`` is the CPU time it took (what
    it can take from training on a machine short of cores).

    Args:
        table (np.ndarray): The ``(C, C)`` table.
        path (str): Output PNG.
        classes (Sequence[str], optional): Class names. Defaults to None.
        title (str): Figure title. Defaults to ''.
    """

    def __init__(self, table, path, classes=None, title=''):
        super().__init__()
        self.plot_args = (table, path, classes, title)
        self.cpu_seconds = 0.0

    def run(self):
        start = time.thread_time()
        plot_soft_labels(*self.plot_args)
        self.cpu_seconds = time.thread_time() - start


def save_soft_label_history(
        directory: str,
        name: str,
        table: np.ndarray,
        classes: Optional[Sequence[str]] = None
) -> Optional[HeatmapWriter]:
    """Save ``table`` as ``directory/name.npy`` now, and its heatmap as
    ``directory/name.png`` in a background thread, off the training path
    (only up to :data:`HEATMAP_MAX_CLASSES` classes).

    Returns:
        HeatmapWriter | None: the started PNG writer (``join()`` it before
        relying on the PNG), or None when no heatmap is drawn.
    """
    os.makedirs(directory, exist_ok=True)
    np.save(osp.join(directory, f'{name}.npy'), table)
    if table.shape[0] > HEATMAP_MAX_CLASSES:
        return None
    writer = HeatmapWriter(table, osp.join(directory, f'{name}.png'),
                           classes,
                           f'soft labels after {name.replace("_", " ")}')
    writer.start()
    return writer
