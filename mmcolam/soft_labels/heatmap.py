"""The heatmap of a soft-label table (and of the training targets beside
it), drawn off the training path in a background thread."""
import threading
import time
from typing import Optional, Sequence

import numpy as np


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
    with an Agg canvas (no pyplot state, so safe in a background thread).

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
    ``cpu_seconds`` the CPU time it took.

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
