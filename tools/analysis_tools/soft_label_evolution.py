"""How the soft labels of a COLAM run evolve from update to update.

Usage:
    python tools/analysis_tools/soft_label_evolution.py WORK_DIR
        [--out-dir DIR] [--class-names A B ...] [--columns 4]

Reads ``WORK_DIR/soft_labels/{epoch,iter}_<N>.npy`` (written by
SoftLabelHook at every update) in update order and writes to the output dir
(default ``WORK_DIR/soft_label_evolution``):

- ``soft_label_grid.png``: one heatmap per update, on a common colour scale,
  labelled with the class names of the run's training dataset (from the
  config in WORK_DIR; ``--class-names`` gives others);
- ``soft_label_curves.png``: mean entropy and mean true-class mass per update;
- ``soft_label_evolution.json`` and ``.csv``: those numbers per update.
"""
import mmcolam  # noqa: F401  (first: filters upstream warnings)

# isort: split
import argparse
import csv
import json
import os
import os.path as osp

from mmcolam.analysis.soft_label_evolution import (evolution_summary,
                                                   load_soft_label_history,
                                                   plot_evolution_curves,
                                                   plot_history_grid,
                                                   run_class_names)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Plot the soft labels of a COLAM run, update by update')
    parser.add_argument('work_dir', help='work dir of a COLAM run')
    parser.add_argument('--out-dir', help='where to write the plots and '
                        'numbers (default: WORK_DIR/soft_label_evolution)')
    parser.add_argument('--class-names', nargs='+',
                        help='class names for the heatmap ticks (default: '
                        "those of the run's training dataset, read from the "
                        'config in WORK_DIR; class indices if it names none)')
    parser.add_argument('--columns', type=int, default=4,
                        help='heatmaps per row of the grid')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    out_dir = args.out_dir or osp.join(args.work_dir, 'soft_label_evolution')
    history = load_soft_label_history(osp.join(args.work_dir, 'soft_labels'))
    num_classes = history[0]['table'].shape[0]
    classes, source = args.class_names, '--class-names'
    if classes is None:
        classes = run_class_names(args.work_dir)
        source = f'the training dataset of the config in {args.work_dir}'
    if classes is not None and len(classes) != num_classes:
        raise ValueError(f'{source} gives {len(classes)} class names for the '
                         f'{num_classes} classes of the soft-label tables: '
                         'give the right ones with --class-names')
    os.makedirs(out_dir, exist_ok=True)
    summary = evolution_summary(history)
    for row in summary:
        print(f"update {row['update']}/{len(summary)} ({row['name']}): "
              f"mean entropy {row['mean_entropy']:.4f} nats, true-class "
              f"mass {row['true_class_mass']:.4f}", flush=True)
    plot_history_grid(history, osp.join(out_dir, 'soft_label_grid.png'),
                      classes, args.columns)
    plot_evolution_curves(summary, osp.join(out_dir, 'soft_label_curves.png'))
    with open(osp.join(out_dir, 'soft_label_evolution.json'), 'w') as f:
        json.dump(dict(work_dir=args.work_dir, num_classes=num_classes,
                       updates=summary), f, indent=2)
    with open(osp.join(out_dir, 'soft_label_evolution.csv'), 'w',
              newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(summary[0]))
        writer.writeheader()
        writer.writerows(summary)
    print(f'written to {out_dir}: soft_label_grid.png, '
          'soft_label_curves.png, soft_label_evolution.{json,csv}')
    return summary


if __name__ == '__main__':
    main()
