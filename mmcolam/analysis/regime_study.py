"""The regime study: where do soft labels help? Methods x networks x
training-set sizes x seeds on Fashion-MNIST or the glyphs, each run by
:func:`mmcolam.analysis.benchmark.run_once`, summarised per cell with
training, validation and test accuracy, test ECE and NLL."""
import glob
import itertools
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmcolam.analysis.benchmark import (format_mean_std, mean_std,
                                        optional_mean_std, run_once)


def cells(networks: Sequence[str], sizes: Sequence[int],
          methods: Sequence[str], seeds: Sequence[int]) -> List[Dict]:
    """Every (network, size, method, seed), seeds outermost so that a study
    cut short still has whole seeds."""
    return [
        dict(network=n, size=s, method=m, seed=seed)
        for seed, n, s, m in itertools.product(seeds, networks, sizes,
                                               methods)
    ]


def config_of(network: str, method: str, dataset: str, root: str) -> str:
    """The config ``root/configs/*/NETWORK_1xb*-METHOD_DATASET.py``; exits
    with a message unless exactly one matches."""
    pattern = osp.join(root, 'configs', '*',
                       f'{network}_1xb*-{method}_{dataset}.py')
    found = sorted(glob.glob(pattern))
    if len(found) != 1:
        raise SystemExit(f'--networks {network} --methods {method}: '
                         f'{len(found)} configs match {pattern}')
    return found[0]


def run_cell(job: Tuple[Dict, str, Optional[Dict]], work_dir: str,
             cfg_options: Optional[Dict] = None, val_size: int = 1000,
             data_set_splits: bool = False) -> Dict:
    """Train and evaluate one cell with its config and the cell's own
    overrides (applied after ``cfg_options``), ``job = (cell, config,
    overrides or None)``, with one thread (in a worker process: several run
    side by side); return the cell with its results (for hard labels, with the
    validation confusion matrix). ``val_size`` and ``data_set_splits``: as
    :func:`run_once`'s."""
    cell, config, overrides = job
    import torch
    torch.set_num_threads(1)
    name = f"{cell['network']}_{cell['size']}"
    # A pool's worker may not start data-loading workers: load in-process
    # (every evaluation uses the test loader's settings).
    in_process = {f'{loader}.{key}': value
                  for loader in ('train_dataloader', 'test_dataloader')
                  for key, value in (('num_workers', 0),
                                     ('persistent_workers', False))}
    cfg_options = {**in_process, **(cfg_options or {}), **(overrides or {})}
    result = run_once(
        cell['method'], config, cell['seed'], osp.join(work_dir, name),
        cfg_options, val_size=val_size, train_subset=cell['size'],
        data_set_splits=data_set_splits, val_confusion=cell['method'] == 'hl',
        prefix=f"{name} {cell['method']} seed {cell['seed']}")
    return dict(cell, **result)


def cell_key(cell: Dict) -> tuple:
    return cell['network'], cell['size'], cell['method'], cell['seed']


def summarise(results: Sequence[Dict], reference: str = 'hl') -> List[Dict]:
    """Per (network, size, method): mean and std of train, validation and
    test accuracy over seeds, the worst test accuracy, and the test and
    validation differences to ``reference`` of the same network and size,
    averaged over the seeds both ran (so that cells with fewer seeds compare
    with the same runs of the reference); the test ECE and NLL (mean, std;
    None where a run lacks them: runs saved before they were measured).
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
        for key in ('ece', 'nll'):
            row[key], row[f'{key}_std'] = optional_mean_std(runs, key)
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
        f'test vs {reference} (pp) | worst test (%) | test ECE (%) | '
        'test NLL | train time (s) |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|---|'
    ]
    for r in rows:
        lines.append(
            f"| {r['network']} | {r['size']} | {r['method']} | {r['runs']} "
            f"| {r['train']:.2f} | {r['val']:.2f} ± {r['val_std']:.2f} | "
            f"{r['val_delta']:+.2f} | {r['test']:.2f} ± {r['test_std']:.2f} "
            f"| {r['test_delta']:+.2f} | {r['test_min']:.2f} | "
            f"{format_mean_std(r['ece'], r['ece_std'])} | "
            f"{format_mean_std(r['nll'], r['nll_std'], 3)} | "
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

#: A network fits its training set when the reference method's training
#: top-1 (%) is at least this at every size.
FITS_TRAINING_SET = 99.0


def regime_title(network: str, rows: Sequence[Dict],
                 reference: str = 'hl') -> str:
    """A panel title that says whether ``network`` fits its training set,
    from the reference method's training accuracy in the summary ``rows``
    (:func:`summarise`)."""
    train = [r['train'] for r in rows
             if r['network'] == network and r['method'] == reference]
    if not train:
        return network
    regime = 'fits its training set' if min(train) >= FITS_TRAINING_SET \
        else 'under-fits its training set'
    low, high = f'{min(train):.0f}', f'{max(train):.0f}'
    span = low if low == high else f'{low}–{high}'
    return f'{network}: {regime}\n({reference} training top-1 {span} %)'


def plot(results: Sequence[Dict], path: str, reference: str = 'hl') -> None:
    """One panel per network, titled by its regime (:func:`regime_title`):
    each method's test accuracy minus the reference's, paired by seed,
    against the training-set size, with ± one standard error of the paired
    differences (:func:`paired_differences`); one legend below the
    panels."""
    from matplotlib.ticker import NullLocator

    from mmcolam.analysis.figures import new_figure

    rows = summarise(results, reference)
    networks = list(dict.fromkeys(r['network'] for r in results))
    methods = [m for m in dict.fromkeys(r['method'] for r in results)
               if m != reference]
    differences = [d for m in methods
                   for d in paired_differences(results, m, reference)]
    labels = {}
    for method in methods:
        seeds = sorted({d['seeds'] for d in differences
                        if d['method'] == method})
        if seeds:
            count = f'{seeds[0]}' if len(seeds) == 1 else \
                f'{seeds[0]}-{seeds[-1]}'
            labels[method] = f'{method} − {reference}, {count} seeds'
    legend = {}
    fig = new_figure(figsize=(max(5.5 * len(networks), 9), 5.2),
                     layout='constrained')
    axes = fig.subplots(1, len(networks), squeeze=False)[0]
    for ax, network in zip(axes, networks):
        own = [d for d in differences if d['network'] == network]
        # A method far below the others (the paper's form collapses) would
        # flatten every other line: the axis stops at FLOOR, and a note in
        # the panel gives its lowest point.
        floor = max(min((d['mean'] - np.nan_to_num(d['sem']) for d in own),
                        default=0.0), FLOOR)
        off_scale = []
        for index, method in enumerate(methods):
            points = sorted((d for d in own if d['method'] == method),
                            key=lambda d: d['size'])
            if not points:
                continue
            # Each method a little to the side, so that bars do not hide
            # each other; the colours leave C0 to the reference.
            dodge = 1.025**(index - (len(methods) - 1) / 2)
            legend[labels[method]] = ax.errorbar(
                [d['size'] * dodge for d in points],
                [d['mean'] for d in points],
                yerr=[d['sem'] for d in points], marker='o', capsize=3,
                color=f'C{index + 1}')
            lowest = min(d['mean'] for d in points)
            if lowest < floor:
                off_scale.append(f'{method}: off scale, down to '
                                 f'{lowest:.1f}')
        if off_scale:
            ax.text(0.02, 0.02, '\n'.join(off_scale), fontsize=8,
                    transform=ax.transAxes, va='bottom')
        sizes = sorted({r['size'] for r in results
                        if r['network'] == network})
        # The zero line (the reference) always shows.
        ax.set_ylim(floor - 0.2, max(ax.get_ylim()[1], 0.2))
        ax.axhline(0, color='black', linewidth=0.8)
        ax.set_xscale('log')
        ax.set_xticks(sizes, [f'{s:,}' for s in sizes])
        ax.set_xlim(sizes[0] / 1.2, sizes[-1] * 1.2)
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_title(regime_title(network, rows, reference), fontsize=10)
        ax.set_xlabel('training images (log scale)')
        ax.set_ylabel(f'test top-1 minus {reference}, same seed (pp)')
    fig.legend(list(legend.values()), list(legend), loc='outside lower center',
               ncols=min(len(legend), 3), fontsize=9,
               title='mean over seeds ± one standard error of the paired '
               f'differences (0 = {reference})', title_fontsize=9)
    fig.savefig(path, dpi=100)
