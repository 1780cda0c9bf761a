"""How the soft labels of a COLAM run evolve from update to update.

:class:`~mmcolam.engine.hooks.SoftLabelHook` writes ``S`` after every update
to ``work_dir/soft_labels/{epoch,iter}_<step>.npy``. This module reads them
back in update order, summarises each table (mean entropy, mean true-class
mass) and draws a grid of heatmaps, labelled with the run's class names, and
the two curves.
"""
import glob
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config

from mmcolam.analysis.figures import new_figure
from mmcolam.soft_labels import soft_label_summary
from mmcolam.soft_labels.history import load_table

HISTORY_FILE = re.compile(r'^(epoch|iter)_(\d+)\.npy$')


def load_soft_label_history(directory: str) -> List[Dict]:
    """Read every soft-label table of a run, in update order.

    Args:
        directory (str): ``work_dir/soft_labels`` of a COLAM run.

    Returns:
        list[dict]: one dict per update, sorted by step, with ``name``
        (``'epoch_3'``), ``unit`` (``'epoch'`` or ``'iter'``), ``step``
        (int), ``path`` and ``table`` (``(C, C)`` float64 array).
    """
    if not osp.isdir(directory):
        raise FileNotFoundError(
            f'{directory!r} is not a folder: expected the soft_labels/ folder '
            'that SoftLabelHook writes into the work dir of a COLAM run')
    history = []
    for file in sorted(os.listdir(directory)):
        if not file.endswith('.npy'):
            continue
        match = HISTORY_FILE.match(file)
        if match is None:
            raise ValueError(
                f'{osp.join(directory, file)!r} is not a soft-label history '
                'file: SoftLabelHook writes epoch_<N>.npy or iter_<N>.npy; '
                'move other .npy files out of the folder')
        path = osp.join(directory, file)
        table = load_table(path)
        if table.ndim != 2 or table.shape[0] != table.shape[1]:
            raise ValueError(f'{path!r} holds an array of shape '
                             f'{table.shape}, not a (C, C) soft-label table')
        history.append(
            dict(name=file[:-4], unit=match.group(1),
                 step=int(match.group(2)), path=path, table=table))
    if not history and any(f.endswith('.npz') for f in os.listdir(directory)):
        raise FileNotFoundError(
            f'{directory!r} holds only the top entries of every row (*_top*.'
            'npz), which SoftLabelHook keeps instead of full tables above '
            'mmcolam.soft_labels.history.FULL_HISTORY_MAX_CLASSES classes; '
            'this analysis needs full tables')
    if not history:
        raise FileNotFoundError(
            f'no epoch_<N>.npy or iter_<N>.npy in {directory!r}: the run made '
            'no soft-label update (is its SoftLabelHook interval shorter than '
            'the run?)')
    units = {h['unit'] for h in history}
    if len(units) > 1:
        raise ValueError(f'{directory!r} mixes epoch_ and iter_ tables, so '
                         'their order is ambiguous: keep one run per folder')
    shapes = {h['table'].shape for h in history}
    if len(shapes) > 1:
        raise ValueError(f'the tables in {directory!r} have different '
                         f'shapes {sorted(shapes)}: keep one run per folder')
    return sorted(history, key=lambda h: h['step'])


def run_class_names(work_dir: str) -> Optional[List[str]]:
    """The class names of the run in ``work_dir``: the ``classes`` of its
    training dataset, from the config the runner dumped there (the newest
    ``*.py``): the dataset's ``metainfo``, or its type's ``METAINFO``
    (through wrappers such as ``ClassBalancedDataset``).

    Returns:
        list[str] | None: None when no config or dataset names them.
    """
    from mmpretrain.registry import DATASETS

    configs = sorted(glob.glob(osp.join(work_dir, '*.py')), key=osp.getmtime)
    if not configs:
        return None
    dataset = Config.fromfile(configs[-1]).get('train_dataloader',
                                               {}).get('dataset')
    while dataset is not None:
        classes = (dataset.get('metainfo') or {}).get('classes')
        if classes is None:
            dataset_type = dataset.get('type')
            if isinstance(dataset_type, str):
                dataset_type = DATASETS.get(dataset_type)
            classes = getattr(dataset_type, 'METAINFO', {}).get('classes')
        if classes is not None:
            return list(classes)
        dataset = dataset.get('dataset')
    return None


def evolution_summary(history: Sequence[Dict]) -> List[Dict]:
    """Mean entropy (nats) and mean true-class mass of every table, the
    scalars that SoftLabelHook logs (:func:`soft_label_summary`)."""
    rows = []
    for update, h in enumerate(history, start=1):
        summary = soft_label_summary(torch.from_numpy(h['table']))
        rows.append(dict(update=update, name=h['name'], unit=h['unit'],
                         step=h['step'], **summary))
    return rows


def plot_history_grid(history: Sequence[Dict],
                      path: str,
                      classes: Optional[Sequence[str]] = None,
                      columns: int = 4) -> None:
    """One heatmap of ``S`` per update, on a common colour scale, in a grid;
    ``classes`` label the ticks up to 15 classes."""
    count = len(history)
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    num_classes = history[0]['table'].shape[0]
    vmax = max(float(h['table'].max()) for h in history)
    fig = new_figure(figsize=(3.2 * columns + 1.2, 3.8 * rows + 0.4),
                     layout='constrained')
    axes = fig.subplots(rows, columns, squeeze=False)
    image = None
    for ax, h in zip(axes.flat, history):
        image = ax.imshow(h['table'], cmap='viridis', vmin=0, vmax=vmax,
                          interpolation='nearest')
        ax.set_title(f"after {h['unit']} {h['step']}", fontsize=9)
        if classes is not None and num_classes <= 15:
            ticks = np.arange(num_classes)
            ax.set_xticks(ticks, list(classes), rotation=90, fontsize=6)
            ax.set_yticks(ticks, list(classes), fontsize=6)
        else:
            ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[count:]:
        ax.axis('off')
    fig.colorbar(image, ax=axes.ravel().tolist(), label='probability mass')
    fig.suptitle('soft-label table S after each update (row = true class)')
    fig.savefig(path, dpi=100)


def plot_evolution_curves(summary: Sequence[Dict], path: str) -> None:
    """Mean entropy and mean true-class mass against the update's step."""
    steps = [r['step'] for r in summary]
    fig = new_figure(figsize=(6, 4))
    ax_entropy = fig.subplots()
    ax_entropy.plot(steps, [r['mean_entropy'] for r in summary], 'o-',
                    color='tab:blue', label='mean entropy')
    ax_entropy.set_xlabel(f"{summary[0]['unit']} of the update")
    ax_entropy.set_ylabel('mean entropy (nats)', color='tab:blue')
    ax_mass = ax_entropy.twinx()
    ax_mass.plot(steps, [r['true_class_mass'] for r in summary], 's--',
                 color='tab:red', label='true-class mass')
    ax_mass.set_ylabel('mean true-class mass', color='tab:red')
    ax_entropy.set_title('soft-label evolution')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
