"""Train several methods on the same data and epochs, for several seeds, and
compare their accuracy and training time against the first (reference) one.

Usage:
    python tools/benchmark.py [CONFIG ...] [--variant NAME CONFIG K=V ...]
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
trained teacher, see tools/label_refinery.sh). A method's name is the part of its
config name between the batch and the data set (``..._1xb128-colam_...``).
Writes ``benchmark.md``, ``benchmark.json`` and ``benchmark.png`` to the work
dir and prints the table. Besides the wall-time ratio to the reference (noisy
on a shared machine), it reports the time SoftLabelHook's updates took inside
each run, and the CPU time of the heatmaps it drew in a background thread,
each as a share of the rest of that run's training.
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import time

import numpy as np
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.runner import Runner, TestLoop
from mmpretrain.registry import DATASETS

from mmcolam.datasets import class_balanced_split
from mmcolam.engine.hooks import SoftLabelHook

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_PATTERN = 'configs/*/smallconvnet_1xb128-*_fashion-mnist.py'


def method_name(config: str) -> str:
    """``smallconvnet_1xb128-colam_fashion-mnist.py`` -> ``colam``."""
    match = re.search(r'_\d+xb\d+-([^_]+)_', osp.basename(config))
    return match.group(1) if match else osp.splitext(
        osp.basename(config))[0]


def default_configs():
    # Label Refinery's generation 2 needs a trained teacher first: it runs
    # through tools/label_refinery.sh, not here.
    configs = [
        c for c in sorted(glob.glob(osp.join(ROOT, DEFAULT_PATTERN)))
        if method_name(c) != 'lr'
    ]
    # Hard labels first: the reference of every ratio.
    return sorted(configs, key=lambda c: method_name(c) != 'hl')


class EpochProgress(Hook):
    """Print one line per epoch, so a long benchmark shows it is alive."""

    def __init__(self, prefix):
        self.prefix = prefix

    def after_train_epoch(self, runner):
        loss = runner.message_hub.get_scalar('train/loss').current()
        print(f'{self.prefix} epoch {runner.epoch + 1}/{runner.max_epochs} '
              f'loss {loss:.4f}', flush=True)


def split(dataset_cfg, args):
    """Training and validation indices of the training set, or (None, None)
    without ``--val-size`` and ``--train-subset``."""
    if not args.val_size and not args.train_subset:
        return None, None
    dataset = DATASETS.build(dict(dataset_cfg, pipeline=[]))
    return class_balanced_split(dataset.get_gt_labels(), args.val_size or 0,
                                args.split_seed, args.train_subset)


def evaluate(runner, dataset_cfg):
    """Top-1 accuracy of the trained model on ``dataset_cfg``."""
    loader = dict(runner.cfg.test_dataloader, dataset=dataset_cfg)
    loop = TestLoop(runner, loader, dict(type='Accuracy', topk=(1, )))
    return loop.run()['accuracy/top1']


def run_once(method, config, overrides, seed, args, prefix):
    """Train one (method, seed), evaluate it on its training images, the
    validation split and the test set; return accuracies and times."""
    cfg = Config.fromfile(config)
    cfg.work_dir = osp.join(args.work_dir, method, f'seed_{seed}')
    cfg.experiment_name = f'{method}_seed{seed}_{time.time_ns()}'
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.log_level = 'WARNING'
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10**9)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1,
                                        save_last=True)
    # Time training alone: the evaluations run once, afterwards.
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    if args.epochs:
        cfg.train_cfg.max_epochs = args.epochs
    for options in (args.cfg_options, overrides):
        if options:
            cfg.merge_from_dict(options)
    train_set = cfg.train_dataloader.dataset
    train_idx, val_idx = split(train_set, args)
    if train_idx is not None:
        train_set.indices = train_idx.tolist()
    runner = Runner.from_cfg(cfg)
    runner.register_hook(EpochProgress(prefix), priority='VERY_LOW')
    start = time.perf_counter()
    runner.train()
    train_seconds = time.perf_counter() - start
    test_pipeline = cfg.test_dataloader.dataset.pipeline
    result = dict(
        method=method, seed=seed,
        train_accuracy=evaluate(runner, dict(train_set,
                                             pipeline=test_pipeline)),
        val_accuracy=evaluate(runner, dict(
            train_set, indices=val_idx.tolist(), pipeline=test_pipeline))
        if val_idx is not None and len(val_idx) else None,
        accuracy=runner.test()['accuracy/top1'],
        train_seconds=train_seconds)
    # The soft-label updates' own time and their heatmaps' CPU time,
    # measured inside this very run.
    hooks = [h for h in runner.hooks if isinstance(h, SoftLabelHook)]
    result.update(update_seconds=sum(h.update_seconds for h in hooks),
                  heatmap_seconds=sum(h.heatmap_seconds for h in hooks))
    return result


def mean_std(values):
    values = np.array(values, dtype=float)
    return values.mean(), values.std(ddof=1) if len(values) > 1 else 0.0


def summarise(results, methods):
    """Per method: train/validation/test accuracy (mean, std), the test and
    validation differences and the time ratio to the reference (the first
    method)."""
    rows = []
    reference = methods[0]
    ref = [r for r in results if r['method'] == reference]
    ref_acc = np.mean([r['accuracy'] for r in ref])
    ref_val = np.mean([r['val_accuracy'] or 0 for r in ref])
    ref_time = np.mean([r['train_seconds'] for r in ref])
    for method in methods:
        runs = [r for r in results if r['method'] == method]
        acc_mean, acc_std = mean_std([r['accuracy'] for r in runs])
        seconds = np.mean([r['train_seconds'] for r in runs])
        update = np.mean([r['update_seconds'] for r in runs])
        heatmap = np.mean([r['heatmap_seconds'] for r in runs])
        row = dict(
            method=method, runs=len(runs), acc_mean=acc_mean,
            acc_std=acc_std, acc_min=min(r['accuracy'] for r in runs),
            delta=acc_mean - ref_acc,
            train_acc_mean=np.mean([r['train_accuracy'] for r in runs]),
            seconds=seconds, time_ratio=seconds / ref_time,
            update_overhead=update / (seconds - update),
            heatmap_overhead=heatmap / (seconds - update))
        if runs[0]['val_accuracy'] is not None:
            val_mean, val_std = mean_std([r['val_accuracy'] for r in runs])
            row.update(val_mean=val_mean, val_std=val_std,
                       val_delta=val_mean - ref_val)
        rows.append(row)
    return rows


def markdown_table(rows, reference):
    has_val = 'val_mean' in rows[0]
    val_head = f'val top-1 (%) | val vs {reference} (pp) | ' if has_val \
        else ''
    lines = [
        f'| method | runs | train top-1 (%) | {val_head}test top-1 (%) | '
        f'test vs {reference} (pp) | worst test (%) | train time (s) | '
        f'time / {reference} | soft-label updates (% of the rest of '
        'training) | heatmaps, background CPU (% of the rest of training) |',
        '|---|---|---|' + ('---|---|' if has_val else '') +
        '---|---|---|---|---|---|---|',
    ]
    for r in rows:
        shares = [
            f'{100 * r[k]:.2f}' if r[k] else '-'
            for k in ('update_overhead', 'heatmap_overhead')
        ]
        val = (f"{r['val_mean']:.2f} ± {r['val_std']:.2f} | "
               f"{r['val_delta']:+.2f} | ") if has_val else ''
        lines.append(
            f"| {r['method']} | {r['runs']} | {r['train_acc_mean']:.2f} | "
            f"{val}{r['acc_mean']:.2f} ± {r['acc_std']:.2f} | "
            f"{r['delta']:+.2f} | {r['acc_min']:.2f} | {r['seconds']:.1f} | "
            f"{r['time_ratio']:.3f} | {shares[0]} | {shares[1]} |")
    return '\n'.join(lines)


def plot(rows, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    names = [r['method'] for r in rows]
    fig, (ax_acc, ax_time) = plt.subplots(
        1, 2, figsize=(4 + 1.2 * len(rows), 4))
    ax_acc.bar(names, [r['acc_mean'] for r in rows],
               yerr=[r['acc_std'] for r in rows], capsize=4, color='tab:blue')
    low = min(r['acc_mean'] - r['acc_std'] for r in rows)
    high = max(r['acc_mean'] + r['acc_std'] for r in rows)
    ax_acc.set_ylim(low - 1, high + 0.5)
    ax_acc.set_ylabel('test top-1 accuracy (%), mean ± std')
    ax_time.bar(names, [r['time_ratio'] for r in rows], color='tab:gray')
    ax_time.axhline(1.0, color='black', linewidth=0.8)
    ax_time.set_ylabel(f'training time / {names[0]}')
    for ax in (ax_acc, ax_time):
        ax.tick_params(axis='x', rotation=45)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


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
            result = run_once(name, config, overrides, seed, args, prefix)
            val = result['val_accuracy']
            print(f"{prefix}: train {result['train_accuracy']:.2f}%, " +
                  (f'val {val:.2f}%, ' if val is not None else '') +
                  f"test {result['accuracy']:.2f}%, "
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
