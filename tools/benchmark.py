"""Train several methods on the same data and epochs, for several seeds, and
compare test accuracy and training time against the first (reference) one.

Usage:
    python tools/benchmark.py [CONFIG ...] [--seeds 0 1 2]
        [--train-subset N] [--epochs E] [--work-dir DIR]
        [--cfg-options K=V ...]

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
from mmengine.runner import Runner

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


def run_once(config, seed, args, prefix):
    """Train and test one (config, seed); return accuracy and train time."""
    cfg = Config.fromfile(config)
    name = method_name(config)
    cfg.work_dir = osp.join(args.work_dir, name, f'seed_{seed}')
    cfg.experiment_name = f'{name}_seed{seed}_{time.time_ns()}'
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.log_level = 'WARNING'
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10**9)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1,
                                        save_last=True)
    # Time training alone: the test set is evaluated once, afterwards.
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    if args.train_subset:
        cfg.train_dataloader.dataset.indices = args.train_subset
    if args.epochs:
        cfg.train_cfg.max_epochs = args.epochs
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    runner = Runner.from_cfg(cfg)
    runner.register_hook(EpochProgress(prefix), priority='VERY_LOW')
    start = time.perf_counter()
    runner.train()
    train_seconds = time.perf_counter() - start
    accuracy = runner.test()['accuracy/top1']
    # The soft-label updates' own time and their heatmaps' CPU time,
    # measured inside this very run.
    hooks = [h for h in runner.hooks if isinstance(h, SoftLabelHook)]
    return dict(method=name, seed=seed, accuracy=accuracy,
                train_seconds=train_seconds,
                update_seconds=sum(h.update_seconds for h in hooks),
                heatmap_seconds=sum(h.heatmap_seconds for h in hooks))


def summarise(results, methods):
    """Per method: accuracy mean/std, difference and time ratio to the
    reference (the first method)."""
    rows = []
    reference = methods[0]
    ref_acc = np.mean([r['accuracy'] for r in results
                       if r['method'] == reference])
    ref_time = np.mean([r['train_seconds'] for r in results
                        if r['method'] == reference])
    for method in methods:
        runs = [r for r in results if r['method'] == method]
        acc = np.array([r['accuracy'] for r in runs])
        seconds = np.mean([r['train_seconds'] for r in runs])
        update = np.mean([r['update_seconds'] for r in runs])
        heatmap = np.mean([r['heatmap_seconds'] for r in runs])
        rows.append(dict(
            method=method, runs=len(runs), acc_mean=acc.mean(),
            acc_std=acc.std(ddof=1) if len(acc) > 1 else 0.0,
            delta=acc.mean() - ref_acc, seconds=seconds,
            time_ratio=seconds / ref_time,
            update_overhead=update / (seconds - update),
            heatmap_overhead=heatmap / (seconds - update)))
    return rows


def markdown_table(rows, reference):
    lines = [
        f'| method | runs | test top-1 (%) | vs {reference} (pp) | '
        f'train time (s) | time / {reference} | soft-label updates (% of '
        'the rest of training) | heatmaps, background CPU (% of the rest '
        'of training) |',
        '|---|---|---|---|---|---|---|---|',
    ]
    for r in rows:
        shares = [
            f'{100 * r[k]:.2f}' if r[k] else '-'
            for k in ('update_overhead', 'heatmap_overhead')
        ]
        lines.append(
            f"| {r['method']} | {r['runs']} | {r['acc_mean']:.2f} ± "
            f"{r['acc_std']:.2f} | {r['delta']:+.2f} | {r['seconds']:.1f} | "
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
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--train-subset', type=int, default=None,
                        help='train on the first N training samples')
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
    return args


def main(argv=None):
    args = parse_args(argv)
    configs = args.configs or default_configs()
    if not configs:
        raise SystemExit(f'no config matches {DEFAULT_PATTERN}')
    methods = [method_name(c) for c in configs]
    os.makedirs(args.work_dir, exist_ok=True)
    total = len(configs) * len(args.seeds)
    results = []
    for seed in args.seeds:
        for config in configs:
            prefix = f'[{len(results) + 1}/{total}] {method_name(config)} ' \
                     f'seed {seed}'
            print(f'{prefix}: training {osp.relpath(config)}', flush=True)
            result = run_once(config, seed, args, prefix)
            print(f"{prefix}: top-1 {result['accuracy']:.2f}%, "
                  f"{result['train_seconds']:.1f} s", flush=True)
            results.append(result)
    rows = summarise(results, methods)
    table = markdown_table(rows, methods[0])
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
