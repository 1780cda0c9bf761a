"""Expected accuracy of every soft-label update of a COLAM run (paper
Section 5.1, Fig. 1b).

Usage:
    python tools/analysis_tools/expected_accuracy.py CONFIG COLAM_WORK_DIR
        [--out-dir DIR] [--with-hard-labels] [--reference-accuracy ACC]
        [--metric accuracy/top1] [--cfg-options K=V ...]

For each table ``COLAM_WORK_DIR/soft_labels/{epoch,iter}_<N>.npy`` in update
order, trains the COLAM config from scratch against that table, fixed
(``model.head.soft_label_file``, no SoftLabelHook), as an ordinary MMEngine
run in ``OUT_DIR/<name>/``, and tests it. ``--with-hard-labels`` adds a run
against the identity table (step 0). Writes ``expected_accuracy.png``,
``expected_accuracy.json`` and ``expected_accuracy.csv`` to the output dir
(default ``COLAM_WORK_DIR/expected_accuracy``).
"""
import mmcolam  # noqa: F401  (first: filters upstream warnings)

# isort: split
import argparse
import csv
import json
import os
import os.path as osp

import numpy as np
from mmengine.config import Config, DictAction

from mmcolam.analysis.expected_accuracy import (frozen_soft_label_config,
                                                plot_expected_accuracy)
from mmcolam.analysis.runs import DEFAULT_METRIC, train_and_test
from mmcolam.analysis.soft_label_evolution import load_soft_label_history


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Retrain against each saved soft-label table of a COLAM '
        'run and plot the test accuracy per update')
    parser.add_argument('config', help='the COLAM config of the run')
    parser.add_argument('colam_work_dir',
                        help='work dir of the COLAM run (holds soft_labels/)')
    parser.add_argument('--out-dir', help='where to put the runs and results '
                        '(default: COLAM_WORK_DIR/expected_accuracy)')
    parser.add_argument('--with-hard-labels', action='store_true',
                        help='also train against hard labels (step 0)')
    parser.add_argument('--reference-accuracy', type=float,
                        help="the COLAM run's own test accuracy, drawn as a "
                        'line')
    parser.add_argument('--metric', default=DEFAULT_METRIC,
                        help='test metric to report')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides applied to every run, key=value')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    out_dir = args.out_dir or osp.join(args.colam_work_dir,
                                       'expected_accuracy')
    history = load_soft_label_history(
        osp.join(args.colam_work_dir, 'soft_labels'))
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    os.makedirs(out_dir, exist_ok=True)
    tables = [(h['name'], h['unit'], h['step'], h['path']) for h in history]
    if args.with_hard_labels:
        eye = osp.join(out_dir, 'hard_labels.npy')
        np.save(eye, np.eye(history[0]['table'].shape[0], dtype=np.float32))
        tables.insert(0, ('hard_labels', history[0]['unit'], 0, eye))
    # Build every config first, so that a bad one fails before any training.
    runs = [(name, unit, step, path, frozen_soft_label_config(cfg, path))
            for name, unit, step, path in tables]
    rows = []
    for i, (name, unit, step, path, run_cfg) in enumerate(runs, start=1):
        prefix = f'[{i}/{len(runs)}] {name}'
        print(f'{prefix}: training against {path}', flush=True)
        result = train_and_test(run_cfg, osp.join(out_dir, name), prefix,
                                args.metric)
        print(f"{prefix}: test {args.metric} {result['accuracy']:.2f}",
              flush=True)
        rows.append(dict(update=i - int(args.with_hard_labels), name=name,
                         unit=unit, step=step, soft_label_file=path,
                         **result))
    plot_expected_accuracy(rows, osp.join(out_dir, 'expected_accuracy.png'),
                           args.reference_accuracy, args.metric)
    with open(osp.join(out_dir, 'expected_accuracy.json'), 'w') as f:
        json.dump(dict(config=args.config, colam_work_dir=args.colam_work_dir,
                       metric=args.metric, runs=rows), f, indent=2)
    with open(osp.join(out_dir, 'expected_accuracy.csv'), 'w',
              newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['update', 'name', 'step', 'accuracy', 'work_dir'])
        writer.writerows([[r['update'], r['name'], r['step'], r['accuracy'],
                           r['work_dir']] for r in rows])
    print(f'written to {out_dir}: expected_accuracy.{{png,json,csv}}')
    return rows


if __name__ == '__main__':
    main()
