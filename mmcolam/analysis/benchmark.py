"""Train methods on the same data, epochs and seeds and compare them: the
runs and the arithmetic behind ``tools/analysis_tools/benchmark.py`` and
``tools/analysis_tools/regime_study.py``.

Every run trains through MMEngine's Runner, then is evaluated, through the
test pipeline, on its training images, on a validation split held out from
the training set (:func:`mmcolam.datasets.class_balanced_split`) and on the
test set. Settings are chosen on validation accuracy; test accuracy, with
the test expected calibration error (15 bins) and negative log-likelihood,
is reported for what was chosen.
"""
import os.path as osp
import re
import time
from typing import Dict, Optional

import numpy as np
from mmengine.config import Config
from mmengine.runner import Runner, TestLoop
from mmpretrain.registry import DATASETS

from mmcolam.analysis.runs import EpochProgress
from mmcolam.datasets import class_balanced_split, class_balanced_subset
from mmcolam.upstream_noise import quiet_upstream_logs

#: What every run reports on the test set, whatever its config's evaluator.
TEST_EVALUATOR = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='ExpectedCalibrationError', num_bins=15),
    dict(type='NegativeLogLikelihood'),
]


def method_name(config: str) -> str:
    """``smallconvnet_1xb128-colam_fashion-mnist.py`` -> ``colam``."""
    match = re.search(r'_\d+xb\d+-([^_]+)_', osp.basename(config))
    return match.group(1) if match else osp.splitext(
        osp.basename(config))[0]


def split(dataset_cfg: dict, val_size: int = 0, split_seed: int = 0,
          train_subset: Optional[int] = None, balanced: bool = False):
    """Training and validation indices of the training set, or (None, None)
    with neither a validation split nor a subset; ``balanced``: the subset
    is ``train_subset / C`` random images of every class
    (:func:`class_balanced_subset`, no validation split), not the first
    ``train_subset``."""
    if not val_size and not train_subset:
        return None, None
    labels = DATASETS.build(dict(dataset_cfg, pipeline=[])).get_gt_labels()
    if balanced:
        return class_balanced_subset(labels, train_subset,
                                     split_seed), np.zeros(0, dtype=int)
    return class_balanced_split(labels, val_size, split_seed, train_subset)


def evaluate(runner, dataset_cfg: dict, confusion: bool = False):
    """Top-1 accuracy of the trained model on ``dataset_cfg``; with
    ``confusion``, also its ``(C, C)`` confusion matrix (row = true class)
    as nested lists."""
    loader = dict(runner.cfg.test_dataloader, dataset=dataset_cfg)
    metrics = [dict(type='Accuracy', topk=(1, ))]
    if confusion:
        metrics.append(dict(type='ConfusionMatrix'))
    results = TestLoop(runner, loader, metrics).run()
    if not confusion:
        return results['accuracy/top1']
    matrix = results['confusion_matrix/result'].tolist()
    return results['accuracy/top1'], matrix


def run_once(method: str,
             config: str,
             seed: int,
             work_dir: str,
             overrides: Optional[Dict] = None,
             val_size: int = 0,
             split_seed: int = 0,
             train_subset: Optional[int] = None,
             epochs: Optional[int] = None,
             prefix: str = '',
             data_set_splits: bool = False,
             val_confusion: bool = False) -> Dict:
    """Train one (method, seed) and evaluate it.

    Args:
        method (str): Name of the method (its work dir and result key).
        config (str): Config file.
        seed (int): The run's seed.
        work_dir (str): Runs go to ``work_dir/method/seed_N``.
        overrides (dict, optional): ``--cfg-options``-style overrides.
            Defaults to None.
        val_size (int): Validation images held out of the training set, the
            same number per class. Defaults to 0 (none).
        split_seed (int): Seed of the validation draw. Defaults to 0.
        train_subset (int, optional): Train on the first N remaining
            images. Defaults to None (all).
        epochs (int, optional): Override ``max_epochs``. Defaults to None.
        prefix (str): Start of the progress lines. Defaults to ''.
        data_set_splits (bool): Use the data set's own validation split
            (the config's ``val_dataloader``, e.g. the glyphs' unseen
            typefaces) instead of ``val_size`` held-out training images, and
            draw ``train_subset`` class-balanced (``split_seed``), for data
            sets stored class by class. Defaults to False.
        val_confusion (bool): Also return the confusion matrix on the
            validation split as ``val_confusion``. Defaults to False.

    Returns:
        dict: ``method``, ``seed``, ``train_accuracy``, ``val_accuracy``
        (None without a validation split), ``accuracy``, ``ece`` (%) and
        ``nll`` on the test set, ``train_seconds`` and the soft-label
        updates' ``update_seconds`` and ``heatmap_seconds`` inside the
        run.
    """
    cfg = Config.fromfile(config)
    cfg.work_dir = osp.join(work_dir, method, f'seed_{seed}')
    cfg.experiment_name = f'{method}_seed{seed}_{time.time_ns()}'
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.log_level = 'WARNING'
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10**9)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1,
                                        save_last=True)
    cfg.test_evaluator = TEST_EVALUATOR
    if epochs:
        cfg.train_cfg.max_epochs = epochs
    if overrides:
        cfg.merge_from_dict(overrides)
    own_val_set = cfg.val_dataloader.dataset if data_set_splits else None
    # Time training alone: the evaluations run once, afterwards.
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    train_set = cfg.train_dataloader.dataset
    train_idx, val_idx = split(train_set, val_size, split_seed,
                               train_subset, balanced=data_set_splits)
    if train_idx is not None:
        train_set.indices = train_idx.tolist()
    runner = Runner.from_cfg(cfg)
    quiet_upstream_logs(runner.logger)
    runner.register_hook(EpochProgress(prefix), priority='VERY_LOW')
    start = time.perf_counter()
    runner.train()
    train_seconds = time.perf_counter() - start
    test_pipeline = cfg.test_dataloader.dataset.pipeline
    val_set, val = None, dict(val_accuracy=None)
    if own_val_set is not None:
        val_set = dict(own_val_set, pipeline=test_pipeline)
    elif val_idx is not None and len(val_idx):
        val_set = dict(train_set, indices=val_idx.tolist(),
                       pipeline=test_pipeline)
    if val_set is not None and val_confusion:
        val['val_accuracy'], val['val_confusion'] = evaluate(
            runner, val_set, confusion=True)
    elif val_set is not None:
        val['val_accuracy'] = evaluate(runner, val_set)
    train_accuracy = evaluate(runner, dict(train_set,
                                           pipeline=test_pipeline))
    test = runner.test()
    # The soft-label updates' own time and their heatmaps' CPU time,
    # measured inside this very run.
    return dict(
        method=method, seed=seed, train_accuracy=train_accuracy,
        **val, accuracy=test['accuracy/top1'],
        ece=test['calibration/ece'], nll=test['calibration/nll'],
        train_seconds=train_seconds,
        update_seconds=logged_total(runner, 'soft_labels/update_seconds'),
        heatmap_seconds=logged_total(runner,
                                     'soft_labels/heatmap_cpu_seconds'))


def logged_total(runner, key: str) -> float:
    """The sum of every value logged as ``key`` in the run's message hub
    (0 when none was)."""
    if key not in runner.message_hub.log_scalars:
        return 0.0
    values, _ = runner.message_hub.get_scalar(key).data
    return float(values.sum())


def mean_std(values):
    values = np.array(values, dtype=float)
    return values.mean(), values.std(ddof=1) if len(values) > 1 else 0.0


def optional_mean_std(runs, key):
    """:func:`mean_std` of ``key`` over ``runs``, or (None, None) where a
    run lacks it (runs saved before it was measured)."""
    values = [r.get(key) for r in runs]
    if any(v is None for v in values):
        return None, None
    return mean_std(values)


def format_mean_std(mean, std, digits: int = 2) -> str:
    """``mean ± std``, or ``–`` where ``mean`` is None."""
    return '–' if mean is None else f'{mean:.{digits}f} ± {std:.{digits}f}'


def summarise(results, methods):
    """Per method: train/validation/test accuracy (mean, std), the test and
    validation differences and the time ratio to the reference (the first
    method), the test ECE and NLL (mean, std; None for runs without
    them)."""
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
        for key in ('ece', 'nll'):
            row[key], row[f'{key}_std'] = optional_mean_std(runs, key)
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
        f'test vs {reference} (pp) | worst test (%) | test ECE (%) | '
        'test NLL | train time (s) | '
        f'time / {reference} | soft-label updates (% of the rest of '
        'training) | heatmaps, background CPU (% of the rest of training) |',
        '|---|---|---|' + ('---|---|' if has_val else '') +
        '---|---|---|---|---|---|---|---|---|',
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
            f"{r['delta']:+.2f} | {r['acc_min']:.2f} | "
            f"{format_mean_std(r['ece'], r['ece_std'])} | "
            f"{format_mean_std(r['nll'], r['nll_std'], 3)} | "
            f"{r['seconds']:.1f} | "
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


