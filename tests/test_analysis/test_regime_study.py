"""tools/analysis_tools/regime_study.py: the summary arithmetic, a tiny
study on fake Fashion-MNIST that is resumed from its results file, one on a
tiny glyph set (class-balanced training images, the data set's own
validation split), and a stopped study that stops its trainings."""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from mmpretrain.registry import DATASETS

from mmcolam.analysis import figures as figures_module
from mmcolam.analysis import regime_study as R
from mmcolam.analysis.benchmark import split
from tests.helpers.fake_data import write_fashion_mnist
from tests.helpers.glyph_data import tiny_font_dir, write_glyphs
from tests.helpers.tool_runs import REPO, TOOLS, alive, children_of, load_tool


def result(network, size, method, seed, train, val, test, **calibration):
    return dict(network=network, size=size, method=method, seed=seed,
                train_accuracy=train, val_accuracy=val, accuracy=test,
                train_seconds=10.0, **calibration)


def test_summary_against_hand_computation():
    results = [
        result('net', 1000, 'hl', 0, 100.0, 80.0, 81.0),
        result('net', 1000, 'hl', 1, 100.0, 82.0, 83.0),
        result('net', 1000, 'colam', 0, 99.0, 83.0, 84.0, ece=3.0,
               nll=0.5),
        result('net', 1000, 'colam', 1, 97.0, 85.0, 86.0, ece=4.0,
               nll=0.6),
        result('net', 2000, 'hl', 0, 100.0, 90.0, 90.0),
    ]
    rows = {(r['size'], r['method']): r for r in R.summarise(results)}
    colam = rows[(1000, 'colam')]
    assert colam['train'] == 98.0 and colam['test'] == 85.0
    assert colam['test_std'] == pytest.approx(np.sqrt(2.0))
    assert colam['test_delta'] == pytest.approx(3.0)
    assert colam['val_delta'] == pytest.approx(3.0)
    assert colam['test_min'] == 84.0
    assert rows[(2000, 'hl')]['test_delta'] == 0.0
    table = R.markdown_table(list(rows.values()))
    assert '| net | 1000 | colam | 2 | 98.00 | 84.00 ± 1.41 | +3.00 | ' \
        '85.00 ± 1.41 | +3.00 | 84.00 | 3.50 ± 0.71 | 0.550 ± 0.071 | ' \
        '10.0 |' in table
    # hl's runs lack ECE and NLL (saved before they were measured).
    assert rows[(1000, 'hl')]['ece'] is None
    assert '| 82.00 ± 1.41 | +0.00 | 81.00 | – | – | 10.0 |' in table


def test_committed_runs_without_calibration_show_dashes():
    """docs/results' runs predate the ECE and NLL: the report shows –."""
    root = REPO
    with open(osp.join(root, 'docs', 'results',
                       'regime_study_test_set_runs.json')) as f:
        runs = json.load(f)
    assert not any('ece' in r or 'nll' in r for r in runs)
    rows = R.summarise(runs)
    assert all(r['ece'] is None and r['nll'] is None for r in rows)
    lines = R.markdown_table(rows).splitlines()
    assert len(lines) == 2 + len(rows)
    assert all(line.split(' | ')[-3:-1] == ['–', '–'] for line in lines[2:])


def test_differences_pair_the_seeds_both_ran():
    def run(method, seed, accuracy):
        return dict(network='n', size=10, method=method, seed=seed,
                    train_accuracy=100.0, val_accuracy=accuracy - 1,
                    accuracy=accuracy, train_seconds=1.0)

    results = [run('hl', 0, 80.0), run('hl', 1, 90.0), run('hl', 2, 70.0),
               run('cskd', 1, 91.5)]
    rows = {r['method']: r for r in R.summarise(results)}
    # Against hard labels' seed 1 (90.0), not their mean (80.0).
    assert rows['cskd']['test_delta'] == pytest.approx(1.5)
    assert rows['cskd']['val_delta'] == pytest.approx(1.5)
    assert rows['hl']['test_delta'] == 0.0


def test_paired_differences_against_hand_computation():
    results = [
        result('n', 10, 'hl', 0, 100, 0, 80.0),
        result('n', 10, 'hl', 1, 100, 0, 82.0),
        result('n', 10, 'hl', 2, 100, 0, 84.0),
        result('n', 10, 'colam', 0, 100, 0, 81.0),
        result('n', 10, 'colam', 1, 100, 0, 81.5),
        result('n', 10, 'colam', 2, 100, 0, 86.0),
        result('n', 10, 'colam', 3, 100, 0, 99.0),  # no hl seed 3: unpaired
        result('n', 20, 'hl', 0, 100, 0, 70.0),
    ]
    (row, ) = R.paired_differences(results, 'colam', 'hl')
    # Differences +1.0, -0.5, +2.0: mean 0.8333, std (ddof 1) 1.2583.
    assert row['seeds'] == 3 and row['wins'] == 2
    assert row['mean'] == pytest.approx(2.5 / 3)
    assert row['sem'] == pytest.approx(1.2583057 / np.sqrt(3))
    assert row['worst_vs_mean'] == pytest.approx(81.0 - 82.0)
    table = R.paired_table(results, pairs=(('colam', 'hl'), ('ls', 'hl')))
    assert '| n | 10 | 3 | +0.83 ± 0.73, 2 of 3 | -1.00 |' in table
    assert R.paired_table(results, pairs=(('ls', 'hl'), )) == ''


def test_plot_says_regime_sizes_and_which_error_bars(tmp_path,
                                                     monkeypatch):
    figures = []
    draw = figures_module.new_figure

    def record(**kwargs):
        figures.append(draw(**kwargs))
        return figures[-1]

    monkeypatch.setattr(figures_module, 'new_figure', record)
    results = [
        result('small', size, 'hl', seed, train, 0, 80.0 + seed)
        for size, train in ((1000, 74.6), (2000, 81.7)) for seed in range(3)
    ] + [
        result('small', 1000, 'colam', 0, 70, 0, 81.0),
        result('small', 1000, 'colam', 1, 70, 0, 80.5),
        result('small', 1000, 'colam', 2, 70, 0, 84.0),
        result('small', 2000, 'colam', 0, 70, 0, 80.0),
        result('small', 2000, 'colam', 1, 70, 0, 81.0),
        result('small', 2000, 'colam', 2, 70, 0, 83.0),
    ] + [
        result('big', size, method, seed, 100.0, 0, 90.0 + seed * delta)
        for size in (1000, 2000, 4000)
        for method, delta in (('hl', 1.0), ('colam', 2.0))
        for seed in range(2)
    ]
    R.plot(results, str(tmp_path / 'plot.png'))
    assert osp.getsize(tmp_path / 'plot.png') > 0
    (fig, ) = figures
    small, big = fig.axes
    assert small.get_title() == \
        'small: under-fits its training set\n(hl training top-1 75–82 %)'
    assert big.get_title() == \
        'big: fits its training set\n(hl training top-1 100 %)'
    for ax, sizes in ((small, ['1,000', '2,000']),
                      (big, ['1,000', '2,000', '4,000'])):
        assert ax.get_xscale() == 'log'
        assert [t.get_text() for t in ax.get_xticklabels()] == sizes
        assert not [t for t in ax.get_xticklabels(minor=True)
                    if t.get_text()]
    # The error bars: the paired differences' mean ± their standard error.
    # Small, 1,000 images: +1.0, -0.5, +2.0 (mean 0.8333, std 1.2583);
    # 2,000: 0, 0, +1.0 (mean 0.3333, std 0.5774).
    (bars, ) = small.containers
    line, _, (vertical, ) = bars
    np.testing.assert_allclose(np.asarray(line.get_ydata(), float),
                               [2.5 / 3, 1 / 3])
    np.testing.assert_allclose(
        [segment[:, 1] for segment in vertical.get_segments()],
        [[2.5 / 3 - 1.2583057 / np.sqrt(3), 2.5 / 3 + 1.2583057 / np.sqrt(3)],
         [1 / 3 - 0.5773503 / np.sqrt(3), 1 / 3 + 0.5773503 / np.sqrt(3)]],
        atol=1e-6)
    (legend, ) = fig.legends
    assert legend.get_title().get_text() == (
        'mean over seeds ± one standard error of the paired differences '
        '(0 = hl)')
    assert [t.get_text() for t in legend.get_texts()] == \
        ['colam − hl, 2-3 seeds']  # 3 for small, 2 for big


def test_help_shows_the_whole_description_and_the_defaults(capsys,
                                                           monkeypatch):
    monkeypatch.setenv('COLUMNS', '200')  # no default cut by a line break
    tool = load_tool('analysis_tools/regime_study')
    with pytest.raises(SystemExit):
        tool.parse_args(['--help'])
    shown = ' '.join(capsys.readouterr().out.split())
    assert ' '.join(tool.__doc__.split()) in shown
    for default in ("--sizes S [S ...] training-set sizes S (default: "
                    "[1000, 2000, 4000])", "(default: 1000)",
                    "(default: work_dirs/regime_study)",
                    "(default: ['hl', 'ls', 'cskd', 'ols', 'pskd', "
                    "'colam-paper', 'colam'])"):
        assert default in shown


def test_cells_put_seeds_outermost():
    cells = R.cells(['a'], [1, 2], ['hl', 'ls'], [0, 1])
    assert len(cells) == 8
    assert [c['seed'] for c in cells] == [0] * 4 + [1] * 4


def test_tiny_study_end_to_end_and_resume(tmp_path, capsys):
    data_root = write_fashion_mnist(str(tmp_path / 'fm'), num_train=300)
    tool = load_tool('analysis_tools/regime_study')
    argv = [
        '--networks', 'smallconvnet', '--sizes', '100', '--methods', 'hl',
        'colam', '--seeds', '0', '--val-size', '50', '--jobs', '1',
        '--work-dir', str(tmp_path / 'study'), '--cfg-options',
        'train_cfg.max_epochs=4', 'train_dataloader.batch_size=50',
        f'train_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}'
    ]
    rows = tool.main(argv)
    assert sorted(r['method'] for r in rows) == ['colam', 'hl']
    saved = json.load(open(tmp_path / 'study' / 'results.json'))
    assert len(saved) == 2
    assert osp.getsize(tmp_path / 'study' / 'regime_study.png') > 0
    # Started again, it finds both runs and trains nothing.
    again = tool.main(argv)
    assert '2 runs found' in capsys.readouterr().out
    assert [r['test'] for r in again] == [r['test'] for r in rows]


def test_tiny_glyph_study_trains_balanced_and_validates_on_val(tmp_path):
    data_root, _ = write_glyphs(tmp_path / 'glyphs',
                                tiny_font_dir(tmp_path / 'fonts'))
    val_images = sum(
        len(files) for _, _, files in os.walk(osp.join(data_root, 'val')))
    rows = load_tool('analysis_tools/regime_study').main([
        '--dataset', 'glyphs', '--networks', 'smallconvnet', '--sizes',
        '236', '--methods', 'hl', '--seeds', '0', '--jobs', '1',
        '--work-dir', str(tmp_path / 'study'), '--cfg-options',
        'train_cfg.max_epochs=1', *(f'{loader}.dataset.data_root={data_root}'
                                    for loader in ('train_dataloader',
                                                   'val_dataloader',
                                                   'test_dataloader'))
    ])
    assert [(r['method'], r['size'], r['runs']) for r in rows] == [('hl',
                                                                   236, 1)]
    result, = json.load(open(tmp_path / 'study' / 'results.json'))
    confusion = np.array(result['val_confusion'])
    # Every image of the val folders once, none held out of training.
    assert confusion.shape == (118, 118) and confusion.sum() == val_images
    assert 100 * np.trace(confusion) / val_images == pytest.approx(
        result['val_accuracy'])
    # Two training images of every class, drawn at random.
    train_set = dict(type='CustomDataset', data_root=data_root,
                     data_prefix='train')
    labels = DATASETS.build(train_set).get_gt_labels()
    train, held_out = split(train_set, train_subset=236, balanced=True)
    assert np.bincount(labels[train]).tolist() == [2] * 118
    assert len(held_out) == 0


@pytest.mark.skipif(not osp.isdir('/proc'), reason='reads /proc')
def test_sigterm_stops_the_trainings(tmp_path):
    data_root = write_fashion_mnist(str(tmp_path / 'fm'), num_train=300)
    study = subprocess.Popen([
        sys.executable, osp.join(TOOLS, 'analysis_tools', 'regime_study.py'),
        '--networks', 'smallconvnet', '--sizes', '100', '--methods', 'hl',
        '--seeds', '0', '--val-size', '50', '--jobs', '1', '--work-dir',
        str(tmp_path / 'study'), '--cfg-options', 'train_cfg.max_epochs=1000',
        'train_dataloader.batch_size=50',
        f'train_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}'
    ], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert 'to go' in study.stdout.readline()
    deadline = time.monotonic() + 60
    while not children_of(study.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = children_of(study.pid)
    assert workers, 'the study started no worker'
    try:
        study.send_signal(signal.SIGTERM)
        assert study.wait(timeout=60) == 128 + signal.SIGTERM
        deadline = time.monotonic() + 30
        while any(map(alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(map(alive, workers))
    finally:  # a failed test leaves nothing training
        for pid in filter(alive, workers):
            os.kill(pid, signal.SIGKILL)


def test_report_only_without_runs_says_so(tmp_path):
    tool = load_tool('analysis_tools/regime_study')
    with pytest.raises(SystemExit, match='holds no run of these cells'):
        tool.main(['--report-only', '--work-dir', str(tmp_path)])
