"""Soft-label tables on disk: ``.npy`` files and heatmap PNGs."""
import os
import os.path as osp
import threading
import time
from typing import Optional, Sequence, Tuple

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


def plot_soft_labels(table: np.ndarray,
                     path: str,
                     classes: Optional[Sequence[str]] = None,
                     title: str = '') -> np.ndarray:
    """Draw a heatmap of a ``(C, C)`` soft-label table, write it to ``path``
    (PNG) and return it.

    Uses matplotlib's object API (no pyplot state), so it is safe to call
    from a background thread.

    Args:
        table (np.ndarray): Row c is the soft label of class c.
        path (str): Output PNG.
        classes (Sequence[str], optional): Class names; shown as tick labels
            when there are at most 30. Defaults to None.
        title (str): Figure title. Defaults to ''.

    Returns:
        np.ndarray: the image, ``(H, W, 3)`` uint8 RGB.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    num_classes = table.shape[0]
    size = min(4 + num_classes * 0.3, 12)
    fig = Figure(figsize=(size + 1.5, size), dpi=100)
    canvas = FigureCanvasAgg(fig)
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
    canvas.draw()
    rgb = np.asarray(canvas.buffer_rgba())[..., :3].copy()
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
    """

    def __init__(self, table, path, classes=None, title=''):
        super().__init__()
        self.plot_args = (table, path, classes, title)
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
        classes: Optional[Sequence[str]] = None
) -> Optional[HeatmapWriter]:
    """Save ``table`` as ``directory/name.npy`` now (above
    :data:`FULL_HISTORY_MAX_CLASSES` classes, its top entries as
    ``name_top10.npz``), and its heatmap as ``directory/name.png`` in a
    background thread, off the training path (only up to
    :data:`HEATMAP_MAX_CLASSES` classes).

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
    writer = HeatmapWriter(array, osp.join(directory, f'{name}.png'),
                           classes,
                           f'soft labels after {name.replace("_", " ")}')
    writer.start()
    return writer
