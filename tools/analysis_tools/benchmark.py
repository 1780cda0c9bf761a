"""Train several methods on the same data and epochs, for several seeds, and
compare their accuracy and training time against the first (reference) one.

Usage:
    python tools/analysis_tools/benchmark.py [CONFIG ...]
        [--variant NAME CONFIG K=V ...]
        [--seeds 0 1 2] [--val-size V] [--split-seed S] [--train-subset N]
        [--epochs E] [--work-dir DIR] [--cfg-options K=V ...]

``--val-size V`` holds out V training images (the same number per class,
drawn with ``--split-seed``) as a validation split; ``--train-subset N``
trains on the first N of the others. Every run is then evaluated on its
training images, the validation split and the test set, all through the test
pipeline: choose settings on validation accuracy, report test accuracy.
``--variant NAME CONFIG K=V ...`` adds a method that is CONFIG with the
overrides K=V (e.g. another label-smoothing eps).

Without CONFIGs, every Fashion-MNIST config of configs/baselines and
configs/colam is run, hard labels first (Label Refinery excepted: it needs a
trained teacher, see tools/label_refinery.sh). A method's name is the part
of its config name between the batch and the data set
(``..._1xb128-colam_...``).
Writes ``benchmark.md``, ``benchmark.json`` and ``benchmark.png`` to the work
dir and prints the table, with each method's test expected calibration
error (15 bins of the top-1 confidence) and negative log-likelihood.
Besides the wall-time ratio to the reference (noisy on a shared machine),
it reports the time SoftLabelHook's updates took inside
each run, and the CPU time of the heatmaps it drew in a background thread,
each as a share of the rest of that run's training.
"""
import mmcolam  # noqa: F401  (first: filters upstream warnings)

# isort: split
import argparse
import glob
import json
import os
import os.path as osp

from mmengine.config import DictAction

from mmcolam.analysis.benchmark import (markdown_table, method_name, plot,
                                        run_once, summarise)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_PATTERN = 'configs/*/smallconvnet_1xb128-*_fashion-mnist.py'


def default_configs():
    # Label Refinery's generation 2 needs a trained teacher first: it runs
    # through tools/label_refinery.sh, not here.
    configs = [
        c for c in sorted(glob.glob(osp.join(ROOT, DEFAULT_PATTERN)))
        if method_name(c) != 'lr'
    ]
    # Hard labels first: the reference of every ratio.
    return sorted(configs, key=lambda c: method_name(c) != 'hl')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Compare methods on the same data, epochs and seeds')
    parser.add_argument('configs', nargs='*',
                        help='configs to compare, the reference first '
                        f'(default: {DEFAULT_PATTERN}, hard labels first)')
    parser.add_argument('--variant', nargs='+', action='append', default=[],
                        metavar='NAME CONFIG K=V',
                        help='a further method: CONFIG with overrides K=V')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--val-size', type=int, default=0,
                        help='hold out this many training images (the same '
                        'number per class) for validation')
    parser.add_argument('--split-seed', type=int, default=0,
                        help='seed of the validation draw')
    parser.add_argument('--train-subset', type=int, default=None,
                        help='train on the first N training samples (after '
                        'the validation split)')
    parser.add_argument('--epochs', type=int, default=None,
                        help="override the configs' max_epochs")
    parser.add_argument('--work-dir', default='work_dirs/benchmark')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides applied to every config')
    args = parser.parse_args(argv)
    if args.train_subset is not None and args.train_subset <= 0:
        parser.error(f'--train-subset={args.train_subset}: use a positive '
                     'number of samples')
    if args.epochs is not None and args.epochs <= 0:
        parser.error(f'--epochs={args.epochs}: use a positive number')
    if args.val_size < 0:
        parser.error(f'--val-size={args.val_size}: use 0 (none) or more')
    args.methods = [(method_name(c), c, {}) for c in args.configs]
    for variant in args.variant:
        if len(variant) < 2:
            parser.error(f'--variant {" ".join(variant)}: give NAME CONFIG '
                         '[K=V ...]')
        overrides = DictAction(option_strings=[], dest='overrides')
        namespace = argparse.Namespace()
        overrides(parser, namespace, variant[2:], 'overrides')
        args.methods.append(
            (variant[0], variant[1], getattr(namespace, 'overrides', {})))
    names = [m[0] for m in args.methods]
    if len(set(names)) != len(names):
        parser.error(f'method names {names} repeat: name each --variant '
                     'differently')
    return args


def main(argv=None):
    args = parse_args(argv)
    methods = args.methods or [(method_name(c), c, {})
                               for c in default_configs()]
    if not methods:
        raise SystemExit(f'no config matches {DEFAULT_PATTERN}')
    names = [m[0] for m in methods]
    os.makedirs(args.work_dir, exist_ok=True)
    total = len(methods) * len(args.seeds)
    results = []
    for seed in args.seeds:
        for name, config, overrides in methods:
            prefix = f'[{len(results) + 1}/{total}] {name} seed {seed}'
            print(f'{prefix}: training {osp.relpath(config)}', flush=True)
            result = run_once(
                name, config, seed, args.work_dir,
                dict(args.cfg_options or {}, **overrides), args.val_size,
                args.split_seed, args.train_subset, args.epochs, prefix)
            val = result['val_accuracy']
            print(f"{prefix}: train {result['train_accuracy']:.2f}%, " +
                  (f'val {val:.2f}%, ' if val is not None else '') +
                  f"test {result['accuracy']:.2f}% (ECE "
                  f"{result['ece']:.2f}%, NLL {result['nll']:.3f}), "
                  f"{result['train_seconds']:.1f} s", flush=True)
            results.append(result)
    rows = summarise(results, names)
    table = markdown_table(rows, names[0])
    with open(osp.join(args.work_dir, 'benchmark.md'), 'w') as f:
        f.write(table + '\n')
    with open(osp.join(args.work_dir, 'benchmark.json'), 'w') as f:
        json.dump(dict(results=results, summary=rows), f, indent=2)
    plot(rows, osp.join(args.work_dir, 'benchmark.png'))
    print(table)
    print(f'written to {args.work_dir}/benchmark.{{md,json,png}}')
    return rows


if __name__ == '__main__':
    main()
