"""COLAM hyper-parameter grid (paper Section 5.3, Fig. 4).

Usage:
    python tools/analysis_tools/hyperparameter_grid.py CONFIG
        --intervals 1 5 10 --num-peers 1 5 100 [--temperatures 1 2]
        [--seeds 0 1] [--out-dir DIR] [--metric accuracy/top1]
        [--cfg-options K=V ...]

Launches one ordinary training run (MMEngine Runner, work dir
``OUT_DIR/T<T>_interval<i>_K<K>[_seed<s>]``) for every combination of update
interval, peers per class K (``all`` = every sample of the class),
temperature T (default: the config's) and seed (default: the config's), by
``--cfg-options``-style overrides of the config's SoftLabelHook and
COLAMHead, then tests it. Writes ``grid.csv`` (one row per run, with the
overrides that reproduce it), ``grid_summary.csv`` (mean/std over seeds),
``grid.json`` and ``grid.png`` (a heatmap interval x K per T) to the output
dir (default ``work_dirs/hyperparameter_grid``).
"""
import mmcolam  # noqa: F401  (first: filters upstream warnings)

# isort: split
import argparse
import copy
import csv
import json
import os
import os.path as osp

from mmengine.config import Config, DictAction

from mmcolam.analysis import hyperparameter_grid as G
from mmcolam.analysis.runs import DEFAULT_METRIC, train_and_test


def peers(value):
    if value == 'all':
        return None
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number <= 0:
        raise argparse.ArgumentTypeError(
            f'{value!r}: use a positive integer or "all"')
    return number


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train COLAM for every (interval, K, T, seed) and plot '
        'the test accuracy')
    parser.add_argument('config', help='a COLAM config with a SoftLabelHook')
    parser.add_argument('--intervals', type=int, nargs='+', required=True,
                        help='update intervals (epochs, or iterations for '
                        'an iteration-based schedule)')
    parser.add_argument('--num-peers', type=peers, nargs='+', required=True,
                        help='peers per class K (an integer or "all")')
    parser.add_argument('--temperatures', type=float, nargs='+',
                        help="temperatures T (default: the config's)")
    parser.add_argument('--seeds', type=int, nargs='+',
                        help="seeds (default: the config's)")
    parser.add_argument('--out-dir', default='work_dirs/hyperparameter_grid')
    parser.add_argument('--metric', default=DEFAULT_METRIC,
                        help='test metric to report')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides applied to every run, key=value')
    args = parser.parse_args(argv)
    for name in ('intervals', 'num_peers', 'temperatures', 'seeds'):
        values = getattr(args, name)
        if values is not None and len(set(values)) < len(values):
            parser.error(f'--{name.replace("_", "-")} repeats a value')
    if args.temperatures and min(args.temperatures) <= 0:
        parser.error('--temperatures must be > 0')
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    position = G.check_grid_config(cfg, args.intervals)
    temperatures = args.temperatures or [G.default_temperature(cfg)]
    cells = G.grid_cells(args.intervals, args.num_peers, temperatures,
                         args.seeds or [None])
    os.makedirs(args.out_dir, exist_ok=True)
    results = []
    for n, cell in enumerate(cells, start=1):
        overrides = G.cell_overrides(position, cell)
        name = (f"T{cell['temperature']:g}_interval{cell['interval']}_K"
                f"{G.peers_name(cell['num_peers'])}" +
                ('' if cell['seed'] is None else f"_seed{cell['seed']}"))
        prefix = f'[{n}/{len(cells)}] {name}'
        print(f'{prefix}: training with {G.format_overrides(overrides)}',
              flush=True)
        run_cfg = copy.deepcopy(cfg)
        run_cfg.merge_from_dict(overrides, allow_list_keys=True)
        result = train_and_test(run_cfg, osp.join(args.out_dir, name),
                                prefix, args.metric)
        print(f"{prefix}: test {args.metric} {result['accuracy']:.2f}",
              flush=True)
        results.append(dict(name=name, **cell,
                            cfg_options=G.format_overrides(overrides),
                            **result))
    summary = G.summarise_grid(results)
    G.plot_grid(summary, args.intervals, args.num_peers, temperatures,
                osp.join(args.out_dir, 'grid.png'), args.metric)
    with open(osp.join(args.out_dir, 'grid.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['temperature', 'interval', 'num_peers', 'seed',
                         'accuracy', 'work_dir', 'cfg_options'])
        writer.writerows([[r['temperature'], r['interval'],
                           G.peers_name(r['num_peers']), r['seed'],
                           r['accuracy'], r['work_dir'], r['cfg_options']]
                          for r in results])
    with open(osp.join(args.out_dir, 'grid_summary.csv'), 'w',
              newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['temperature', 'interval', 'num_peers', 'runs',
                         'accuracy_mean', 'accuracy_std'])
        writer.writerows([[r['temperature'], r['interval'],
                           G.peers_name(r['num_peers']), r['runs'],
                           r['accuracy_mean'], r['accuracy_std']]
                          for r in summary])
    with open(osp.join(args.out_dir, 'grid.json'), 'w') as f:
        json.dump(dict(config=args.config, metric=args.metric,
                       runs=results, summary=summary), f, indent=2)
    print(f'written to {args.out_dir}: grid.png, grid.csv, '
          'grid_summary.csv, grid.json')
    return results, summary


if __name__ == '__main__':
    main()
