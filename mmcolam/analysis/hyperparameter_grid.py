"""COLAM's hyper-parameter grid (paper Section 5.3, Fig. 4): update
interval x number of peers K (x temperature T), one ordinary run per cell.

Each cell is described by ``--cfg-options``-style overrides of the config's
SoftLabelHook and COLAMHead, so any cell can be rerun with
``tools/train.py CONFIG --cfg-options <overrides>``.
"""
import inspect
import itertools
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.config import Config

from mmcolam.analysis.figures import new_figure
from mmcolam.analysis.runs import soft_label_hook_positions, type_name
from mmcolam.argument_checks import check_int


def peers_name(num_peers: Optional[int]) -> str:
    return 'all' if num_peers is None else str(num_peers)


def default_temperature(cfg: Config) -> float:
    """The COLAMHead temperature of ``cfg`` (its default when unset)."""
    from mmcolam.models.heads.colam_head import COLAMHead
    default = inspect.signature(COLAMHead).parameters['temperature'].default
    return float(cfg.model.head.get('temperature', default))


def check_grid_config(cfg: Config, intervals: Sequence[int]) -> int:
    """Check that ``cfg`` is a COLAM config with one SoftLabelHook and that
    every interval is shorter than the run; return the hook's position."""
    head_type = type_name((cfg.model.get('head') or {}).get('type'))
    if head_type != 'COLAMHead':
        raise ValueError(f'model.head.type={head_type!r}: the grid varies '
                         'COLAM settings, so give a COLAM config')
    positions = soft_label_hook_positions(cfg)
    if len(positions) != 1:
        raise ValueError(f'the config has {len(positions)} SoftLabelHooks in '
                         'custom_hooks: the grid needs exactly one')
    train_cfg = cfg.get('train_cfg') or {}
    length = train_cfg.get('max_epochs') or train_cfg.get('max_iters')
    for interval in intervals:
        check_int('interval', interval)
        if length is not None and interval >= length:
            raise ValueError(
                f'interval={interval} is not shorter than the run '
                f'({length} epochs/iterations), so no update would happen: '
                f'use intervals < {length} or a longer schedule')
    return positions[0]


def grid_cells(intervals: Sequence[int],
               num_peers: Sequence[Optional[int]],
               temperatures: Sequence[Optional[float]],
               seeds: Sequence[Optional[int]]) -> List[Dict]:
    """Every combination, T outermost, then interval, K and seed."""
    return [
        dict(temperature=t, interval=i, num_peers=k, seed=s)
        for t, i, k, s in itertools.product(temperatures, intervals,
                                            num_peers, seeds)
    ]


def cell_overrides(hook_position: int, cell: Dict) -> Dict:
    """``--cfg-options``-style overrides (list positions as keys) of a cell;
    a ``None`` temperature or seed leaves the config's value."""
    hook = f'custom_hooks.{hook_position}'
    overrides = {
        f'{hook}.interval': cell['interval'],
        f'{hook}.num_peers': cell['num_peers'],
    }
    if cell['temperature'] is not None:
        overrides['model.head.temperature'] = cell['temperature']
    if cell['seed'] is not None:
        overrides['randomness.seed'] = cell['seed']
    return overrides


def format_overrides(overrides: Dict) -> str:
    """``key=value ...`` as ``tools/train.py --cfg-options`` takes them."""
    return ' '.join(f'{k}={v}' for k, v in overrides.items())


def summarise_grid(results: Sequence[Dict]) -> List[Dict]:
    """Mean and standard deviation over seeds of every (T, interval, K)."""
    groups = {}
    for r in results:
        key = (r['temperature'], r['interval'], r['num_peers'])
        groups.setdefault(key, []).append(r['accuracy'])
    rows = []
    for (t, i, k), accs in groups.items():
        accs = np.asarray(accs, dtype=np.float64)
        rows.append(dict(temperature=t, interval=i, num_peers=k,
                         runs=len(accs), accuracy_mean=float(accs.mean()),
                         accuracy_std=float(accs.std(ddof=1))
                         if len(accs) > 1 else 0.0))
    return rows


def grid_matrix(summary: Sequence[Dict], temperature: float,
                intervals: Sequence[int],
                num_peers: Sequence[Optional[int]]) -> np.ndarray:
    """``(len(intervals), len(num_peers))`` mean accuracies at one T (NaN
    where a cell is missing)."""
    matrix = np.full((len(intervals), len(num_peers)), np.nan)
    for r in summary:
        if r['temperature'] == temperature:
            matrix[list(intervals).index(r['interval']),
                   list(num_peers).index(r['num_peers'])] = r['accuracy_mean']
    return matrix


def plot_grid(summary: Sequence[Dict], intervals: Sequence[int],
              num_peers: Sequence[Optional[int]],
              temperatures: Sequence[float], path: str,
              metric: str = 'accuracy/top1') -> None:
    """One heatmap interval x K per temperature, cells annotated."""
    fig = new_figure(
        figsize=(1.6 + (1.0 * len(num_peers) + 0.8) * len(temperatures),
                 1.8 + 0.6 * len(intervals)),
        layout='constrained')
    axes = fig.subplots(1, len(temperatures), squeeze=False)
    values = [r['accuracy_mean'] for r in summary]
    vmin, vmax = min(values), max(values)
    for ax, t in zip(axes[0], temperatures):
        matrix = grid_matrix(summary, t, intervals, num_peers)
        image = ax.imshow(matrix, cmap='viridis', vmin=vmin, vmax=vmax)
        for a in range(len(intervals)):
            for b in range(len(num_peers)):
                # viridis is bright at large values: dark text there.
                dark = vmax > vmin and image.norm(matrix[a, b]) > 0.5
                ax.text(b, a, f'{matrix[a, b]:.2f}', ha='center',
                        va='center', fontsize=8,
                        color='black' if dark else 'white')
        ax.set_xticks(range(len(num_peers)),
                      [peers_name(k) for k in num_peers])
        ax.set_yticks(range(len(intervals)), [str(i) for i in intervals])
        ax.set_xlabel('peers per class K')
        if ax is axes[0, 0]:
            ax.set_ylabel('update interval')
        ax.set_title(f'T = {t:g}')
    fig.colorbar(image, ax=axes.ravel().tolist(),
                 label=f'test {metric} (%)')
    fig.savefig(path, dpi=100)
