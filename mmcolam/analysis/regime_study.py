"""The regime study: where do soft labels help? Methods x networks x
training-set sizes x seeds on Fashion-MNIST, each run by
:func:`mmcolam.analysis.benchmark.run_once`, summarised per cell with
training, validation and test accuracy."""
import itertools
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmcolam.analysis.benchmark import mean_std, run_once


def cells(networks: Sequence[str], sizes: Sequence[int],
          methods: Sequence[str], seeds: Sequence[int]) -> List[Dict]:
    """Every (network, size, method, seed), seeds outermost so that a study
    cut short still has whole seeds."""
    return [
        dict(network=n, size=s, method=m, seed=seed)
        for seed, n, s, m in itertools.product(seeds, networks, sizes,
                                               methods)
    ]


def run_cell(job: Tuple[Dict, str], work_dir: str,
             cfg_options: Optional[Dict] = None, val_size: int = 1000) -> Dict:
    """Train and evaluate one cell with its config, ``job = (cell,
    config)``, with one thread (in a worker process: several run side by
    side); return the cell with its results."""
    cell, config = job
    import torch
    torch.set_num_threads(1)
    name = f"{cell['network']}_{cell['size']}"
    result = run_once(
        cell['method'], config, cell['seed'], osp.join(work_dir, name),
        cfg_options, val_size=val_size, train_subset=cell['size'],
        prefix=f"{name} {cell['method']} seed {cell['seed']}")
    return dict(cell, **result)


def cell_key(cell: Dict) -> tuple:
    return cell['network'], cell['size'], cell['method'], cell['seed']


def summarise(results: Sequence[Dict], reference: str = 'hl') -> List[Dict]:
    """Per (network, size, method): mean and std of train, validation and
    test accuracy over seeds, the worst test accuracy, and the test and
    validation differences to ``reference`` of the same network and size,
    averaged over the seeds both ran (so that cells with fewer seeds compare
    with the same runs of the reference).
    """
    groups = {}
    for r in results:
        groups.setdefault((r['network'], r['size'], r['method']),
                          []).append(r)
    rows = []
    for (network, size, method), runs in groups.items():
        row = dict(network=network, size=size, method=method,
                   runs=len(runs),
                   train=np.mean([r['train_accuracy'] for r in runs]),
                   test_min=min(r['accuracy'] for r in runs),
                   seconds=np.mean([r['train_seconds'] for r in runs]))
        row['test'], row['test_std'] = mean_std([r['accuracy']
                                                 for r in runs])
        row['val'], row['val_std'] = mean_std([r['val_accuracy']
                                               for r in runs])
        reference_runs = {
            r['seed']: r
            for r in groups.get((network, size, reference), [])
        }
        pairs = [(r, reference_runs[r['seed']]) for r in runs
                 if r['seed'] in reference_runs]
        for key, field in (('test_delta', 'accuracy'),
                           ('val_delta', 'val_accuracy')):
            row[key] = np.mean([r[field] - ref[field]
                                for r, ref in pairs]) if pairs else np.nan
        rows.append(row)
    return rows


def markdown_table(rows: Sequence[Dict], reference: str = 'hl') -> str:
    lines = [
        f'| network | train images | method | runs | train top-1 (%) | '
        f'val top-1 (%) | val vs {reference} (pp) | test top-1 (%) | '
        f'test vs {reference} (pp) | worst test (%) | train time (s) |',
        '|---|---|---|---|---|---|---|---|---|---|---|'
    ]
    for r in rows:
        lines.append(
            f"| {r['network']} | {r['size']} | {r['method']} | {r['runs']} "
            f"| {r['train']:.2f} | {r['val']:.2f} ± {r['val_std']:.2f} | "
            f"{r['val_delta']:+.2f} | {r['test']:.2f} ± {r['test_std']:.2f} "
            f"| {r['test_delta']:+.2f} | {r['test_min']:.2f} | "
            f"{r['seconds']:.1f} |")
    return '\n'.join(lines)


def paired_differences(results: Sequence[Dict], method: str,
                       reference: str) -> List[Dict]:
    """Per (network, size): the test accuracy of ``method`` minus that of
    ``reference`` on the seeds both ran: their number, mean, standard error
    of the mean (std with ddof=1 over sqrt(n); NaN for one seed), how many
    ``method`` won, and ``method``'s worst test accuracy minus
    ``reference``'s mean on those seeds."""
    runs = {}
    for r in results:
        runs.setdefault((r['network'], r['size']), {}).setdefault(
            r['method'], {})[r['seed']] = r['accuracy']
    rows = []
    for (network, size), by_method in runs.items():
        ours, theirs = by_method.get(method, {}), by_method.get(reference, {})
        seeds = sorted(set(ours) & set(theirs))
        if not seeds:
            continue
        deltas = np.array([ours[s] - theirs[s] for s in seeds])
        rows.append(
            dict(network=network, size=size, method=method,
                 reference=reference, seeds=len(seeds), mean=deltas.mean(),
                 sem=deltas.std(ddof=1) / np.sqrt(len(seeds))
                 if len(seeds) > 1 else np.nan,
                 wins=int((deltas > 0).sum()),
                 worst_vs_mean=min(ours[s] for s in seeds) -
                 np.mean([theirs[s] for s in seeds])))
    return rows


def paired_table(results: Sequence[Dict],
                 pairs: Sequence[tuple] = (('colam', 'hl'), ('colam', 'ls'),
                                           ('ls', 'hl'))) -> str:
    """A markdown table of :func:`paired_differences` for each (method,
    reference) in ``pairs`` that the results hold, one row per cell."""
    columns = {}
    for method, reference in pairs:
        for row in paired_differences(results, method, reference):
            columns.setdefault((row['network'], row['size']),
                               {})[(method, reference)] = row
    shown = [p for p in pairs
             if any(p in cell for cell in columns.values())]
    if not shown:
        return ''
    header = ' | '.join(f'{m} − {r} (pp), wins' for m, r in shown)
    lines = [
        f'| network | train images | seeds | {header} | worst {shown[0][0]} '
        f'− mean {shown[0][1]} (pp) |',
        '|---|---|---|' + '---|' * (len(shown) + 1)
    ]
    for (network, size), cell in columns.items():
        seeds = max(row['seeds'] for row in cell.values())
        values = [
            f"{cell[p]['mean']:+.2f} ± {cell[p]['sem']:.2f}, "
            f"{cell[p]['wins']} of {cell[p]['seeds']}" if p in cell else '–'
            for p in shown
        ]
        worst = cell[shown[0]]['worst_vs_mean'] if shown[0] in cell else \
            np.nan
        lines.append(f"| {network} | {size} | {seeds} | "
                     f"{' | '.join(values)} | {worst:+.2f} |")
    return '\n'.join(lines)


FLOOR = -5.0  # pp: the lowest difference a regime-study panel shows


def plot(rows: Sequence[Dict], path: str, reference: str = 'hl') -> None:
    """One panel per network: test accuracy minus the reference's against
    the training-set size, one line per method, with the std over seeds."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    networks = list(dict.fromkeys(r['network'] for r in rows))
    methods = list(dict.fromkeys(r['method'] for r in rows))
    fig, axes = plt.subplots(1, len(networks),
                             figsize=(5.5 * len(networks), 4.2),
                             squeeze=False)
    for ax, network in zip(axes[0], networks):
        # A method far below the others (the paper's form collapses) would
        # flatten every other line: the axis stops at FLOOR, the legend
        # gives its lowest point.
        low = min(r['test_delta'] - r['test_std'] for r in rows
                  if r['network'] == network)
        floor = max(low, FLOOR)
        for method in methods:
            own = sorted((r for r in rows if r['network'] == network
                          and r['method'] == method),
                         key=lambda r: r['size'])
            if not own:
                continue
            lowest = min(r['test_delta'] for r in own)
            label = method if lowest >= floor else \
                f'{method} (off scale, down to {lowest:.1f})'
            ax.errorbar([r['size'] for r in own],
                        [r['test_delta'] for r in own],
                        yerr=[r['test_std'] for r in own], marker='o',
                        capsize=3, label=label)
        ax.set_ylim(floor - 0.2, None)
        ax.axhline(0, color='black', linewidth=0.8)
        ax.set_xscale('log')
        ax.set_title(network)
        ax.set_xlabel('training images')
        ax.set_ylabel(f'test top-1 minus {reference} (pp)')
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
