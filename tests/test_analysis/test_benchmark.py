"""tools/analysis_tools/benchmark.py: the summary arithmetic and a tiny
end-to-end run."""
import json
import os.path as osp
import sys

import numpy as np
import pytest

from tests.helpers.fake_data import write_fashion_mnist
from tests.helpers.tool_runs import REPO

ROOT = REPO
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))
import benchmark  # noqa: E402

from mmcolam.analysis.benchmark import markdown_table, summarise  # noqa

HL = osp.join(ROOT, 'configs', 'baselines',
              'smallconvnet_1xb128-hl_fashion-mnist.py')
COLAM = osp.join(ROOT,
                 'configs/colam/smallconvnet_1xb128-colam_fashion-mnist.py')


def test_method_name_from_config_name():
    assert benchmark.method_name(COLAM) == 'colam'
    assert benchmark.method_name(HL) == 'hl'
    assert benchmark.method_name('configs/x/plain.py') == 'plain'


def test_default_configs_put_hard_labels_first():
    configs = benchmark.default_configs()
    names = [benchmark.method_name(c) for c in configs]
    assert names[0] == 'hl' and 'colam' in names and 'lr' not in names


def test_summary_against_hand_computation():
    results = [
        dict(method='hl', accuracy=90.0, train_seconds=100.0,
             train_accuracy=99.0, val_accuracy=80.0,
             update_seconds=0.0, heatmap_seconds=0.0, ece=5.0, nll=0.30),
        dict(method='hl', accuracy=92.0, train_seconds=110.0,
             train_accuracy=100.0, val_accuracy=82.0,
             update_seconds=0.0, heatmap_seconds=0.0, ece=7.0, nll=0.34),
        dict(method='colam', accuracy=93.0, train_seconds=104.0,
             train_accuracy=98.0, val_accuracy=85.0,
             update_seconds=2.0, heatmap_seconds=1.0),
        dict(method='colam', accuracy=94.0, train_seconds=106.0,
             train_accuracy=97.0, val_accuracy=86.0,
             update_seconds=4.0, heatmap_seconds=0.5, ece=2.0, nll=0.2),
    ]
    hl, colam = summarise(results, ['hl', 'colam'])
    assert hl['acc_mean'] == 91.0 and hl['time_ratio'] == 1.0
    assert hl['acc_std'] == pytest.approx(np.sqrt(2.0))  # sample std
    assert colam['delta'] == pytest.approx(2.5)
    assert colam['time_ratio'] == pytest.approx(105.0 / 105.0)
    assert colam['update_overhead'] == pytest.approx(3.0 / 102.0)
    assert colam['heatmap_overhead'] == pytest.approx(0.75 / 102.0)
    assert hl['train_acc_mean'] == 99.5 and colam['acc_min'] == 93.0
    assert colam['val_mean'] == 85.5 and colam['val_delta'] == 4.5
    assert colam['val_std'] == pytest.approx(np.sqrt(0.5))
    assert hl['ece'] == 6.0 and hl['ece_std'] == pytest.approx(np.sqrt(2))
    assert hl['nll'] == pytest.approx(0.32)
    assert hl['nll_std'] == pytest.approx(np.sqrt(0.0008))
    # One colam run has no ECE and NLL (saved before they were measured):
    # none is shown rather than the other run's.
    assert colam['ece'] is None and colam['nll'] is None
    table = markdown_table([hl, colam], 'hl')
    assert '| colam | 2 | 97.50 | 85.50 ± 0.71 | +4.50 | 93.50 ± 0.71 | ' \
        '+2.50 | 93.00 | – | – |' in table
    assert '| +0.00 | 90.00 | 6.00 ± 1.41 | 0.320 ± 0.028 | 105.0 |' in table
    assert '| 1.000 | - | - |' in table  # hl: no updates, no heatmaps
    assert '| 2.94 | 0.74 |' in table


def test_end_to_end_on_fake_fashion_mnist(tmp_path, capsys):
    data_root = write_fashion_mnist(str(tmp_path / 'fm'), num_train=300)
    work_dir = str(tmp_path / 'bench')
    rows = benchmark.main([
        HL, COLAM, '--seeds', '0', '1', '--epochs', '4', '--work-dir',
        work_dir, '--cfg-options', 'train_dataloader.num_workers=0',
        'test_dataloader.num_workers=0', 'train_dataloader.batch_size=50',
        f'train_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}'
    ])
    assert [r['method'] for r in rows] == ['hl', 'colam']
    saved = json.load(open(osp.join(work_dir, 'benchmark.json')))
    assert len(saved['results']) == 4
    colam = [r for r in saved['results'] if r['method'] == 'colam']
    assert all(r['update_seconds'] > 0 for r in colam)
    assert all(r['heatmap_seconds'] > 0 for r in colam)
    assert osp.isfile(osp.join(work_dir, 'colam', 'seed_1', 'soft_labels',
                               'epoch_3.npy'))
    assert osp.getsize(osp.join(work_dir, 'benchmark.png')) > 0
    out = capsys.readouterr().out
    assert '[4/4] colam seed 1: train ' in out and '| hl | 2 |' in out
    # Test ECE (%) and NLL, whatever the configs' test evaluators.
    for r in saved['results']:
        assert 0 < r['ece'] < 100 and 0 < r['nll'] < 10
    assert 'test ECE (%) | test NLL |' in out


def test_validation_split_is_held_out_of_training(tmp_path):
    """--val-size: the run trains on --train-subset images that exclude the
    class-balanced validation images, and reports all three accuracies."""
    data_root = write_fashion_mnist(str(tmp_path / 'fm'), num_train=300)
    work_dir = str(tmp_path / 'bench')
    rows = benchmark.main([
        HL, '--seeds', '0', '--epochs', '1', '--work-dir', work_dir,
        '--val-size', '50', '--train-subset', '100', '--cfg-options',
        'train_dataloader.batch_size=50',
        f'train_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
        '--variant', 'hl-t', HL, 'train_dataloader.batch_size=25',
        f'train_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}'
    ])
    assert [r['method'] for r in rows] == ['hl', 'hl-t']
    result = json.load(open(osp.join(work_dir, 'benchmark.json')))
    for r in result['results']:
        assert all(0 <= r[k] <= 100 for k in
                   ('train_accuracy', 'val_accuracy', 'accuracy'))
    # Accuracies on 100 training and 50 validation images: multiples of
    # 1 % and 2 %.
    r = result['results'][0]
    assert r['train_accuracy'] == pytest.approx(round(r['train_accuracy']))
    assert r['val_accuracy'] / 2 == pytest.approx(
        round(r['val_accuracy'] / 2))
