"""The regime study: methods x networks x training-set sizes x seeds on
Fashion-MNIST or the glyph data set, with training, validation and test
accuracy.

Usage:
    python tools/analysis_tools/regime_study.py [--dataset fashion-mnist]
        [--networks N ...] [--sizes S ...] [--methods M ...] [--seeds 0 1 2]
        [--val-size 1000] [--jobs 2] [--work-dir work_dirs/regime_study]
        [--cfg-options K=V ...]

A method M of network N is the config ``configs/*/N_1xb*-M_DATASET.py``.
On Fashion-MNIST every run holds out the same class-balanced ``--val-size``
images (split seed 0) and trains on the first S of the others. On the glyphs
(stored class by class) every run trains on the same S / 118 random images
of every class (seed 0) and validates on the data set's own validation
split, typefaces seen neither in training nor in the test split
(``--val-size`` is not used). ``--jobs`` runs that many
trainings at once, one thread each. Results are appended to
``results.json`` as runs end, and a study started again skips the runs it
finds there (``--report-only`` summarises them without training). Stopping
the study (Ctrl-C or SIGTERM) stops its trainings too. Writes
``regime_study.md`` (per cell: mean ± std over seeds, with the test ECE
and NLL, "–" for runs saved before they were measured; then the differences
paired by seed ± their standard error) and ``regime_study.png`` (each
method's test accuracy minus hard labels', paired by seed, ± one standard
error, one panel per network).
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
import time
from functools import partial

from mmengine.config import DictAction

from mmcolam.analysis import regime_study as R

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter,
                    argparse.RawDescriptionHelpFormatter):
    """The module docstring as written, and every option's default."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=HelpFormatter)
    parser.add_argument('--dataset', default='fashion-mnist',
                        choices=['fashion-mnist', 'glyphs'],
                        help='the data set of the configs')
    parser.add_argument('--networks', nargs='+',
                        default=['smallconvnet', 'preact-resnet18-w8'],
                        metavar='N', help='networks N of the configs')
    parser.add_argument('--sizes', type=int, nargs='+',
                        default=[1000, 2000, 4000], metavar='S',
                        help='training-set sizes S')
    parser.add_argument('--methods', nargs='+', default=[
        'hl', 'ls', 'cskd', 'ols', 'pskd', 'colam-paper', 'colam'],
        metavar='M', help='methods M of the configs; differences are to hl')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2],
                        metavar='SEED', help='seeds of every cell')
    parser.add_argument('--val-size', type=int, default=1000, metavar='V',
                        help='training images held out as the validation '
                        'split')
    parser.add_argument('--jobs', type=int, default=2, metavar='J',
                        help='trainings at once, one thread each')
    parser.add_argument('--report-only', action='store_true',
                        help='train nothing: summarise the runs found')
    parser.add_argument('--work-dir', default='work_dirs/regime_study',
                        metavar='DIR', help='where the runs, results.json, '
                        'the table and the plot go')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        metavar='K=V',
                        help='overrides applied to every config')
    args = parser.parse_args(argv)
    if args.jobs <= 0:
        parser.error(f'--jobs={args.jobs}: use 1 or more')
    return args


def main(argv=None):
    args = parse_args(argv)
    configs = {(n, m): R.config_of(n, m, args.dataset, ROOT)
               for n in args.networks for m in args.methods}
    os.makedirs(args.work_dir, exist_ok=True)
    results_path = osp.join(args.work_dir, 'results.json')
    results = json.load(open(results_path)) if osp.isfile(
        results_path) else []
    done = {R.cell_key(r) for r in results}
    todo = [] if args.report_only else [
        c for c in R.cells(args.networks, args.sizes, args.methods,
                           args.seeds) if R.cell_key(c) not in done
    ]
    print(f'{len(done)} runs found in {results_path}, {len(todo)} to go, '
          f'{args.jobs} at a time', flush=True)
    start = time.perf_counter()
    # Leaving the pool, also on Ctrl-C or SIGTERM, terminates its workers.
    with multiprocessing.get_context('spawn').Pool(args.jobs) as pool:
        train = partial(R.run_cell, work_dir=args.work_dir,
                        cfg_options=args.cfg_options, val_size=args.val_size,
                        data_set_splits=args.dataset == 'glyphs')
        jobs = [(c, configs[(c['network'], c['method'])], None)
                for c in todo]
        for count, result in enumerate(pool.imap_unordered(train, jobs), 1):
            results.append(result)
            with open(results_path, 'w') as f:
                json.dump(results, f, indent=1)
            elapsed = time.perf_counter() - start
            print(f"[{count}/{len(todo)}] {result['network']} "
                  f"{result['size']} {result['method']} seed "
                  f"{result['seed']}: train {result['train_accuracy']:.2f}%, "
                  f"val {result['val_accuracy']:.2f}%, test "
                  f"{result['accuracy']:.2f}% ({elapsed / 60:.1f} min, about "
                  f'{elapsed / count * (len(todo) - count) / 60:.0f} min '
                  'left)', flush=True)
    wanted = {R.cell_key(c) for c in R.cells(args.networks, args.sizes,
                                             args.methods, args.seeds)}
    chosen = [r for r in results if R.cell_key(r) in wanted]
    if not chosen:
        raise SystemExit(f'{results_path} holds no run of these cells: '
                         'nothing to summarise')
    rows = R.summarise(chosen)
    rows.sort(key=lambda r: (args.networks.index(r['network']), r['size'],
                             args.methods.index(r['method'])))
    table = R.markdown_table(rows)
    paired = R.paired_table(
        sorted(chosen,
               key=lambda r: (args.networks.index(r['network']), r['size'])))
    if paired:
        table += ('\n\nTest accuracy paired by seed: mean difference ± '
                  'its standard error, and the seeds won:\n\n' + paired)
    with open(osp.join(args.work_dir, 'regime_study.md'), 'w') as f:
        f.write(table + '\n')
    R.plot(sorted(chosen, key=lambda r: (
        args.networks.index(r['network']), args.methods.index(r['method']))),
        osp.join(args.work_dir, 'regime_study.png'))
    print(table)
    print(f'written to {args.work_dir}/regime_study.{{md,png}}')
    return rows


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    main()
