"""Soft-label tables on disk: ``.npy`` files and heatmap PNGs."""
import os
import os.path as osp
import threading
from typing import Optional, Sequence

import numpy as np


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
    image = ax.imshow(table, cmap='viridis', vmin=0, interpolation='nearest')
    fig.colorbar(image, ax=ax, label='probability mass')
    ax.set_xlabel('class of the mass')
    ax.set_ylabel('true class (row = its soft label)')
    if classes is not None and num_classes <= 30:
        ticks = np.arange(num_classes)
        ax.set_xticks(ticks, list(classes), rotation=90, fontsize=7)
        ax.set_yticks(ticks, list(classes), fontsize=7)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def save_soft_label_history(
        directory: str,
        name: str,
        table: np.ndarray,
        classes: Optional[Sequence[str]] = None) -> threading.Thread:
    """Save ``table`` as ``directory/name.npy`` now, and its heatmap as
    ``directory/name.png`` in a background thread, off the training path.

    Returns:
        threading.Thread: the started PNG writer; ``join()`` it before
        relying on the PNG.
    """
    os.makedirs(directory, exist_ok=True)
    np.save(osp.join(directory, f'{name}.npy'), table)
    writer = threading.Thread(
        target=plot_soft_labels,
        args=(table, osp.join(directory, f'{name}.png'), classes,
              f'soft labels after {name.replace("_", " ")}'))
    writer.start()
    return writer
