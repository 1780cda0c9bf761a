"""Class templates against penultimate representations (paper Section 5.2):
Table 5, Fig. 3 and the Fig. 2 projection, for one or more trained models.

Usage:
    python tools/analysis_tools/templates_vs_representations.py \
        CONFIG CHECKPOINT [CONFIG CHECKPOINT ...] --classes A B C \
        [--split {train,test}] [--num-samples 100] [--names HL LS COLAM] \
        [--seed 0] [--batch-size 64] [--device cpu] [--out-dir DIR] \
        [--cfg-options K=V ...]

For every model: the representations ``x`` (input of the head's last linear
layer) of ``--num-samples`` random samples of each chosen class (name or
index), read through the test pipeline, and the templates ``w_k`` (rows of
the head's ``fc`` weight); all vectors L2-normalised. Writes to the output
dir:

- ``template_distances.{csv,md}``: distances between the normalised
  templates of every pair of chosen classes and their average (Table 5);
- ``average_distances.{csv,png}``: average distance from each template
  (ADT, Fig. 3a-c) and each class centroid (ADC, Fig. 3d-f) to the samples of
  each class;
- ``projection.png`` (exactly three classes): samples and templates
  projected onto the plane through the three templates (Fig. 2);
- ``representations.json``: all the numbers, the sample indices and the
  projected coordinates.
"""
import mmcolam  # noqa: F401  (first: filters upstream warnings)

# isort: split
import argparse
import csv
import json
import os
import os.path as osp
import re

import numpy as np
from mmengine.config import Config, DictAction

from mmcolam.analysis import features as F
from mmcolam.analysis import representations as R


def default_name(config):
    """``smallconvnet_1xb128-colam_fashion-mnist.py`` -> ``colam``."""
    stem = osp.splitext(osp.basename(config))[0]
    match = re.search(r'_\d+xb\d+-([^_]+)_', stem)
    return match.group(1) if match else stem


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Distances between class templates and penultimate '
        'representations, and their projection (paper Section 5.2)')
    parser.add_argument(
        'models', nargs='+', metavar='CONFIG CHECKPOINT',
        help='pairs of a config file and a checkpoint, one pair per model')
    parser.add_argument('--classes', nargs='+', required=True,
                        help='chosen classes, by name or index (three for '
                        'the projection)')
    parser.add_argument('--split', choices=F.SPLITS, default='test',
                        help='data set split of the samples')
    parser.add_argument('--num-samples', type=int, default=100,
                        help='samples per chosen class')
    parser.add_argument('--names', nargs='+',
                        help='a name per model (default: the method in the '
                        'config name, e.g. colam)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the sample choice')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out-dir',
                        default='work_dirs/templates_vs_representations')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides applied to every config')
    args = parser.parse_args(argv)
    if len(args.models) % 2:
        parser.error('models must be CONFIG CHECKPOINT pairs, got '
                     f'{len(args.models)} paths')
    args.pairs = list(zip(args.models[::2], args.models[1::2]))
    if args.names is None:
        args.names = [default_name(c) for c, _ in args.pairs]
        if len(set(args.names)) < len(args.names):
            args.names = [f'{n}_{i}' for i, n in enumerate(args.names)]
    elif len(args.names) != len(args.pairs):
        parser.error(f'--names gives {len(args.names)} names for '
                     f'{len(args.pairs)} models')
    if len(args.classes) < 2:
        parser.error('--classes: give at least two classes')
    if args.num_samples <= 0:
        parser.error(f'--num-samples={args.num_samples}: use a positive '
                     'number')
    return args


def analyse_model(config, checkpoint, args, prefix):
    cfg = Config.fromfile(config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    print(f'{prefix}: loading {checkpoint}', flush=True)
    model = F.load_classifier(cfg, checkpoint, args.device)
    dataset = F.build_split_dataset(cfg, args.split)
    class_names = dataset.metainfo.get('classes')
    templates = F.class_templates(model)
    classes = F.resolve_classes(args.classes, class_names, len(templates))
    labels = np.asarray(dataset.get_gt_labels()).reshape(-1)
    indices = F.select_samples(labels, classes, args.num_samples, args.seed)
    print(f'{prefix}: representations of {len(indices)} {args.split} '
          'samples', flush=True)
    feats = F.penultimate_features(model, dataset, indices, args.batch_size)
    result = R.representation_analysis(feats, labels[indices], templates,
                                     classes)
    names = [class_names[c] if class_names else str(c) for c in classes]
    return dict(classes=classes, class_names=names,
                sample_indices=indices, sample_labels=labels[indices],
                **result)


def to_json(value):
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_tables(results, names, out_dir):
    header = ['pair'] + names
    rows = R.template_distance_rows(results)
    with open(osp.join(out_dir, 'template_distances.csv'), 'w',
              newline='') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows([[r[0]] + [f'{v:.6f}' for v in r[1:]]
                          for r in rows])
    lines = ['| distance | ' + ' | '.join(names) + ' |',
             '|---|' + '---|' * len(names)]
    lines += ['| ' + r[0] + ' | ' + ' | '.join(f'{v:.3f}' for v in r[1:]) +
              ' |' for r in rows]
    table = '\n'.join(lines)
    with open(osp.join(out_dir, 'template_distances.md'), 'w') as f:
        f.write('Euclidean distance between the normalised templates\n\n' +
                table + '\n')
    with open(osp.join(out_dir, 'average_distances.csv'), 'w',
              newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['model', 'anchor', 'anchor_class', 'sample_class',
                         'average_distance'])
        for name, r in zip(names, results):
            for kind, key in (('template', 'template_to_samples'),
                              ('centroid', 'centroid_to_samples')):
                for a, anchor in enumerate(r['class_names']):
                    for s, samples in enumerate(r['class_names']):
                        writer.writerow([name, kind, anchor, samples,
                                         f'{r[key][a, s]:.6f}'])
    return table


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)
    results = []
    for i, ((config, checkpoint), name) in enumerate(
            zip(args.pairs, args.names), start=1):
        results.append(analyse_model(
            config, checkpoint, args, f'[{i}/{len(args.pairs)}] {name}'))
    if len({tuple(r['classes']) for r in results}) > 1:
        raise ValueError('the models resolve --classes to different class '
                         'indices; compare models of the same data set')
    table = write_tables(results, args.names, args.out_dir)
    R.plot_average_distances(results, args.names,
                           osp.join(args.out_dir, 'average_distances.png'))
    written = ['template_distances.csv', 'template_distances.md',
               'average_distances.csv', 'average_distances.png']
    if 'projection' in results[0]:
        R.plot_projection(results, args.names,
                        osp.join(args.out_dir, 'projection.png'))
        written.append('projection.png')
    else:
        print('projection.png skipped: the projection plane needs exactly '
              f'three classes, got {len(results[0]["classes"])}')
    report = dict(
        split=args.split, num_samples=args.num_samples, seed=args.seed,
        models=[dict(name=n, config=c, checkpoint=k, **to_json(r))
                for n, (c, k), r in zip(args.names, args.pairs, results)])
    with open(osp.join(args.out_dir, 'representations.json'), 'w') as f:
        json.dump(report, f, indent=1)
    written.append('representations.json')
    print(table)
    print(f'written to {args.out_dir}: {", ".join(written)}')
    return report


if __name__ == '__main__':
    main()
