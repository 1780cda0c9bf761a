"""How much can class structure give on your data, before you tune COLAM?

Trains one network against a fixed soft-label table built from a hard-label
model's confusions on the validation split (``confusion-table``: the best
class structure available without the test set), next to the same target
with a uniform table (``uniform-table``: label smoothing over the other
classes) at the same eps, paired by seed: COLAMHead's bounded target
``(1 - eps) * y + eps * O[y]`` with ``O`` fixed (``soft_label_file``). Then
measures how well the ``S`` that COLAM learned ranks the same confusions:
the rank correlation (Spearman) of the off-diagonals, per update, next to
that of the hard-label runs' own confusions of other seeds (how repeatable
the confusions are).

Usage:
    python tools/analysis_tools/class_structure_bound.py
        [--dataset glyphs] [--network smallconvnet] [--size 4720]
        [--seeds 0 1 2 3 4] [--eps 0.1] [--jobs 2]
        [--work-dir work_dirs/regime_study_glyphs] [--cfg-options K=V ...]

Runs are cells of the regime study (tools/analysis_tools/regime_study.py)
in ``--work-dir``'s ``results.json``: the hard-label (``hl``) and COLAM
(``colam``) runs found there are reused, so a study's work dir gives the
bound for two more methods; the missing ``hl`` runs are trained. The table
comes from the first seed's ``hl`` run. Writes ``confusion_table.npy``,
``class_structure_bound.md`` and ``class_structure_bound.png`` (the rank
correlations per update) to ``--work-dir``.
"""
import mmcolam  # noqa: F401  (first: filters upstream warnings)

# isort: split
import argparse
import json
import multiprocessing
import os
import os.path as osp
import signal
import sys
from functools import partial

import numpy as np
from mmengine.config import DictAction

from mmcolam.analysis import class_structure as S
from mmcolam.analysis import regime_study as R

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

TABLES = ('confusion-table', 'uniform-table')


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter,
                    argparse.RawDescriptionHelpFormatter):
    """The module docstring as written, and every option's default."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=HelpFormatter)
    parser.add_argument('--dataset', default='glyphs',
                        choices=['fashion-mnist', 'glyphs'])
    parser.add_argument('--network', default='smallconvnet')
    parser.add_argument('--size', type=int, default=4720,
                        help='training images')
    parser.add_argument('--seeds', type=int, nargs='+',
                        default=[0, 1, 2, 3, 4], metavar='SEED')
    parser.add_argument('--eps', type=float, default=0.1,
                        help='mass the tables spread off the true class')
    parser.add_argument('--val-size', type=int, default=1000,
                        help='Fashion-MNIST: held-out validation images')
    parser.add_argument('--jobs', type=int, default=2,
                        help='trainings at once, one thread each')
    parser.add_argument('--work-dir', default='work_dirs/regime_study_glyphs')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        metavar='K=V',
                        help='overrides applied to every config')
    args = parser.parse_args(argv)
    if not 0 < args.eps < 1:
        parser.error(f'--eps={args.eps}: use a value in (0, 1)')
    if args.jobs <= 0:
        parser.error(f'--jobs={args.jobs}: use 1 or more')
    return args


def train(cells, args, results, results_path):
    """Train ``cells`` (each a (cell, config, overrides) job) and append
    their results to ``results`` and its file as they end."""
    run = partial(R.run_cell, work_dir=args.work_dir,
                  cfg_options=args.cfg_options, val_size=args.val_size,
                  data_set_splits=args.dataset == 'glyphs')
    with multiprocessing.get_context('spawn').Pool(args.jobs) as pool:
        for count, result in enumerate(pool.imap_unordered(run, cells), 1):
            results.append(result)
            with open(results_path, 'w') as f:
                json.dump(results, f, indent=1)
            print(f"[{count}/{len(cells)}] {result['method']} seed "
                  f"{result['seed']}: val {result['val_accuracy']:.2f}%, "
                  f"test {result['accuracy']:.2f}%", flush=True)


def table_options(path, eps):
    """Overrides that turn a hard-label config into training against the
    fixed table at ``path`` (COLAMHead's bounded target)."""
    return {
        'model.head.type': 'COLAMHead',
        'model.head.smoothing': eps,
        'model.head.soft_label_file': osp.abspath(path),
        'model.head.loss.use_soft': True,
    }


def correlations(results, args, confusion):
    """Rows of (source, update, mean rank correlation, its std, runs, mean
    :func:`~mmcolam.analysis.class_structure.top_share`): COLAM's S per
    update, and the other seeds' hard-label confusions."""
    def row(source, update, pairs):
        rho = [p[0] for p in pairs]
        return (source, update, np.mean(rho),
                np.std(rho, ddof=1) if len(rho) > 1 else 0.0, len(rho),
                np.mean([p[1] for p in pairs]))

    by_update = {}
    for r in results:
        if r['method'] != 'colam':
            continue
        history = osp.join(args.work_dir, f'{args.network}_{args.size}',
                           'colam', f"seed_{r['seed']}", 'soft_labels')
        for update, rho, top in S.history_correlations(history, confusion):
            by_update.setdefault(update, []).append((rho, top))
    rows = [row('colam S', u, pairs) for u, pairs in by_update.items()]
    others = [(S.rank_correlation(S.off_diagonal(r['val_confusion']),
                                  S.off_diagonal(confusion)),
               S.top_share(r['val_confusion'])) for r in results
              if r['method'] == 'hl' and r['seed'] != args.seeds[0]
              and 'val_confusion' in r]
    if others:
        rows.append(row('hl confusion, other seeds', 'end', others))
    return rows


def plot(rows, path, title):
    from mmcolam.analysis.figures import new_figure
    fig = new_figure(figsize=(6, 4), layout='constrained')
    ax = fig.subplots()
    colam = [r for r in rows if r[0] == 'colam S']
    if colam:
        ax.errorbar([r[1] for r in colam], [r[2] for r in colam],
                    yerr=[r[3] for r in colam], marker='o', capsize=3,
                    label=f'COLAM S, {colam[0][4]} seeds (± std)')
    for r in rows:
        if r[0] != 'colam S':
            ax.axhline(r[2], color='grey', linestyle='--',
                       label=f'{r[0]} ({r[4]} runs)')
    ax.set_ylim(min([0] + [r[2] - r[3] for r in rows]) - 0.05, 1)
    ax.set_xlabel('update')
    ax.set_ylabel('rank correlation with the\nhl validation confusions')
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis='x', rotation=45)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=100)


def report(results, args, confusion):
    """The markdown report: accuracy and calibration per method, the
    paired differences and the rank correlations."""
    cell = [r for r in results if r['network'] == args.network
            and r['size'] == args.size and r['seed'] in args.seeds]
    order = ['hl', 'ls', *TABLES, 'colam']
    rows = sorted(R.summarise(cell), key=lambda r: order.index(r['method'])
                  if r['method'] in order else len(order))
    rows = [r for r in rows if r['method'] in order]
    text = [
        f'# How much can class structure give? {args.dataset}, '
        f'{args.network}, {args.size} training images, eps {args.eps}', '',
        R.markdown_table(rows), '',
        'Test accuracy paired by seed (mean difference ± its standard '
        'error, seeds won):', '',
        R.paired_table(cell, pairs=(
            ('confusion-table', 'uniform-table'), ('confusion-table', 'hl'),
            ('uniform-table', 'hl'), ('colam', 'uniform-table'),
            ('colam', 'hl'))), ''
    ]
    rho = correlations(cell, args, confusion)
    if rho:
        text += [
            'Rank correlation of the off-diagonal with that of the hard-label '
            f'validation confusions of seed {args.seeds[0]}:', '',
            '| source | update | rank correlation (mean ± std) | runs | '
            'top share of O |', '|---|---|---|---|---|'
        ] + [f'| {s} | {u} | {m:.3f} ± {d:.3f} | {n} | {t:.3f} |'
             for s, u, m, d, n, t in rho] + [
            '', 'Top share of O: the mean over classes of the largest entry '
            'of the row without its own class, renormalised (the part of '
            'eps the most confused class gets): '
            f'{1 / (len(confusion) - 1):.3f} for uniform rows; '
            f'{S.top_share(confusion):.3f} for the confusion table.']
        plot(rho, osp.join(args.work_dir, 'class_structure_bound.png'),
             f'What COLAM\'s S ranks: {args.dataset}, {args.network}, '
             f'{args.size} images')
    return '\n'.join(text) + '\n'


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.work_dir, exist_ok=True)
    results_path = osp.join(args.work_dir, 'results.json')
    results = json.load(open(results_path)) if osp.isfile(
        results_path) else []
    hl_config = R.config_of(args.network, 'hl', args.dataset, ROOT)

    def missing(method, seeds):
        done = {R.cell_key(r) for r in results}
        return [(c, hl_config, None)
                for c in R.cells([args.network], [args.size], [method], seeds)
                if R.cell_key(c) not in done]

    first = args.seeds[0]
    train(missing('hl', [first]), args, results, results_path)
    reference = next(r for r in results if R.cell_key(r) == (
        args.network, args.size, 'hl', first))
    confusion = np.array(reference['val_confusion'])
    tables = {
        'confusion-table': S.confusion_table(confusion),
        'uniform-table': S.uniform_table(len(confusion)),
    }
    cells = missing('hl', args.seeds[1:])
    for method, table in tables.items():
        path = osp.join(args.work_dir, f"{method.replace('-', '_')}.npy")
        np.save(path, table)
        cells += [(c, hl_config, table_options(path, args.eps))
                  for c, _, _ in missing(method, args.seeds)]
    # Seeds outermost, as the regime study: a run cut short has whole seeds.
    cells.sort(key=lambda job: job[0]['seed'])
    print(f'{len(cells)} runs to go, {args.jobs} at a time', flush=True)
    train(cells, args, results, results_path)
    text = report(results, args, confusion)
    with open(osp.join(args.work_dir, 'class_structure_bound.md'), 'w') as f:
        f.write(text)
    print(text)
    return text


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    main()
