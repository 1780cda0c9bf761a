"""The analysis tools of tools/analysis_tools/ on a tiny COLAM run (100 fake
Fashion-MNIST images, 3 epochs, an update after epochs 1 and 2), each checked
against an independent numpy computation or the runs' own outputs."""
import csv
import glob
import json
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mmcolam  # noqa: F401
from mmcolam.analysis import representations as R
from mmcolam.analysis import soft_label_evolution
from tests.helpers.fake_data import read_idx
from tests.helpers.runner_config import fashion_mnist_config
from tests.helpers.tool_runs import load_tool

MEAN, STD = 72.94, 90.02
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def assert_png(path):
    assert osp.isfile(path), path
    with open(path, 'rb') as f:
        assert f.read(8) == PNG_MAGIC, path


def run_own_test_accuracy(work_dir):
    """The test top-1 that a run's LoggerHook wrote to its own JSON log."""
    logs = glob.glob(osp.join(work_dir, '*', '*.json'))
    assert len(logs) == 1, logs
    records = [json.loads(line) for line in open(logs[0])]
    tested = [r for r in records if 'accuracy/top1' in r]
    assert len(tested) == 1, records
    return tested[0]['accuracy/top1']


def run_own_config(work_dir):
    """The config a run dumped into its work dir."""
    configs = glob.glob(osp.join(work_dir, '*.py'))
    assert len(configs) == 1, configs
    return Config.fromfile(configs[0])


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """One intra-op thread for this module's tiny runs: on two shared cores
    a second thread mostly waits (backward passes run ~10x slower under
    load). The previous setting comes back afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope='module')
def colam_run(tmp_path_factory, one_thread):
    tmp_path = tmp_path_factory.mktemp('colam_run')
    cfg = fashion_mnist_config(
        tmp_path,
        head=dict(type='COLAMHead', temperature=2.0),
        loss=dict(type='CrossEntropyLoss', use_soft=True),
        max_epochs=3,
        batch_size=25)
    cfg['train_dataloader']['dataset']['indices'] = 100
    cfg['custom_hooks'] = [
        dict(type='SoftLabelHook', interval=1, num_peers=5,
             keep_true_class_top=False)
    ]
    cfg['default_hooks']['checkpoint'] = dict(type='CheckpointHook',
                                              interval=1)
    cfg['experiment_name'] = 'analysis_tools_colam'
    config_path = str(tmp_path / 'colam_config.py')
    Config(cfg).dump(config_path)
    runner = Runner.from_cfg(Config.fromfile(config_path))
    runner.train()
    return dict(config=config_path, work_dir=runner.work_dir,
                data_root=str(tmp_path / 'fashion_mnist'))


FASHION_MNIST_CLASSES = [
    'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
    'Sneaker', 'Bag', 'Ankle boot'
]


@pytest.fixture
def drawn_figures(monkeypatch):
    """The figures the soft-label evolution module draws, in order."""
    figures = []
    draw = soft_label_evolution.new_figure

    def record(**kwargs):
        figures.append(draw(**kwargs))
        return figures[-1]

    monkeypatch.setattr(soft_label_evolution, 'new_figure', record)
    return figures


def test_soft_label_evolution(colam_run, tmp_path, drawn_figures):
    tool = load_tool('analysis_tools/soft_label_evolution')
    out = str(tmp_path / 'evolution')
    tool.main([colam_run['work_dir'], '--out-dir', out])
    # The heatmaps are labelled with the run's class names, which its
    # config's dataset (FashionMNIST) knows.
    grid = drawn_figures[0]
    heatmaps = [ax for ax in grid.axes if ax.images]
    assert len(heatmaps) == 2
    for ax in heatmaps:
        assert [t.get_text() for t in ax.get_xticklabels()] == \
            FASHION_MNIST_CLASSES
        assert [t.get_text() for t in ax.get_yticklabels()] == \
            FASHION_MNIST_CLASSES
    report = json.load(open(osp.join(out, 'soft_label_evolution.json')))
    updates = report['updates']
    assert [u['name'] for u in updates] == ['epoch_1', 'epoch_2']
    for u in updates:
        table = np.load(osp.join(colam_run['work_dir'], 'soft_labels',
                                 f"{u['name']}.npy")).astype(np.float64)
        logs = np.log(table, where=table > 0, out=np.zeros_like(table))
        entropy = -(table * logs).sum(axis=1).mean()
        assert u['mean_entropy'] == pytest.approx(entropy, abs=1e-5)
        assert u['true_class_mass'] == pytest.approx(
            np.trace(table) / len(table), abs=1e-6)
    for png in ('soft_label_grid.png', 'soft_label_curves.png'):
        assert_png(osp.join(out, png))
    assert osp.isfile(osp.join(out, 'soft_label_evolution.csv'))


def test_soft_label_evolution_class_names(colam_run, tmp_path,
                                          drawn_figures):
    tool = load_tool('analysis_tools/soft_label_evolution')
    names = [f'class {c}' for c in range(10)]
    tool.main([colam_run['work_dir'], '--out-dir', str(tmp_path / 'given'),
               '--class-names', *names])
    ax = drawn_figures[0].axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    with pytest.raises(ValueError, match='--class-names gives 3 class names '
                       'for the 10 classes'):
        tool.main([colam_run['work_dir'], '--out-dir', str(tmp_path / 'bad'),
                   '--class-names', 'a', 'b', 'c'])
    # A history without the run's config: no names to give.
    shutil.copytree(osp.join(colam_run['work_dir'], 'soft_labels'),
                    tmp_path / 'bare' / 'soft_labels')
    assert soft_label_evolution.run_class_names(str(tmp_path / 'bare')) \
        is None


def test_representation_math_on_plain_tensors():
    rng = np.random.default_rng(0)
    templates = torch.from_numpy(rng.normal(size=(3, 6)))
    origin, basis = R.template_plane(templates)
    np.testing.assert_allclose(basis @ basis.T, np.eye(2), atol=1e-12)
    normed = templates.numpy() / np.linalg.norm(templates.numpy(), axis=1,
                                                keepdims=True)
    # Points of the plane keep their distances exactly.
    points = normed[0] + rng.normal(size=(5, 2)) @ np.stack(
        [normed[1] - normed[0], normed[2] - normed[0]])
    flat = R.project_onto_plane(points, origin, basis)
    np.testing.assert_allclose(
        np.linalg.norm(flat[:, None] - flat[None], axis=-1),
        np.linalg.norm(points[:, None] - points[None], axis=-1), atol=1e-10)
    # A template that is another one scaled is the same after normalisation.
    with pytest.raises(ValueError, match='collinear'):
        R.template_plane(np.stack([normed[0], normed[1], 3 * normed[0]]))


def test_templates_vs_representations(colam_run, tmp_path):
    tool = load_tool('analysis_tools/templates_vs_representations')
    out = str(tmp_path / 'templates')
    checkpoints = [osp.join(colam_run['work_dir'], f'epoch_{e}.pth')
                   for e in (3, 1)]
    tool.main([colam_run['config'], checkpoints[0],
               colam_run['config'], checkpoints[1],
               '--names', 'final', 'first', '--classes', 'Trouser', '4',
               'Sneaker', '--split', 'test', '--num-samples', '6',
               '--out-dir', out])
    report = json.load(open(osp.join(out, 'representations.json')))
    classes = [1, 4, 7]
    images = read_idx(osp.join(colam_run['data_root'],
                               't10k-images-idx3-ubyte'))
    labels = read_idx(osp.join(colam_run['data_root'],
                               't10k-labels-idx1-ubyte'))
    csv_rows = list(csv.reader(open(osp.join(out,
                                             'template_distances.csv'))))
    assert csv_rows[0] == ['pair', 'final', 'first']
    assert [r[0] for r in csv_rows[1:]] == [
        '(Trouser, Coat)', '(Trouser, Sneaker)', '(Coat, Sneaker)', 'Average']
    for column, (entry, checkpoint) in enumerate(
            zip(report['models'], checkpoints), start=1):
        assert entry['classes'] == classes
        state = torch.load(checkpoint, map_location='cpu',
                           weights_only=False)['state_dict']
        w = state['head.fc.weight'].double().numpy()[classes]
        w /= np.linalg.norm(w, axis=1, keepdims=True)
        # Table 5: distances between normalised templates, and their mean.
        dist = np.linalg.norm(w[:, None] - w[None], axis=-1)
        np.testing.assert_allclose(entry['template_distances'], dist,
                                   rtol=1e-6)
        pairs = [dist[0, 1], dist[0, 2], dist[1, 2]]
        np.testing.assert_allclose(
            [float(r[column]) for r in csv_rows[1:]],
            pairs + [np.mean(pairs)], atol=2e-6)
        # Representations recomputed by hand: the backbone's pooled output
        # (no neck; the head's input) of the raw test images.
        index = np.asarray(entry['sample_indices'])
        assert sorted(np.bincount(labels[index], minlength=10)[classes]) == \
            [6, 6, 6]
        model = Runner.from_cfg(Config.fromfile(colam_run['config'])).model
        model.load_state_dict(state)
        model.eval()
        with torch.no_grad():
            x = torch.from_numpy(images[index]).float().unsqueeze(1)
            feats = model.backbone((x - MEAN) / STD)[0].double().numpy()
        feats /= np.linalg.norm(feats, axis=1, keepdims=True)
        groups = [feats[labels[index] == c] for c in classes]
        adt = [[np.linalg.norm(g - w[i], axis=1).mean() for g in groups]
               for i in range(3)]
        np.testing.assert_allclose(entry['template_to_samples'], adt,
                                   rtol=1e-5)
        centroids = np.stack([g.mean(0) for g in groups])
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
        adc = [[np.linalg.norm(g - centroids[i], axis=1).mean()
                for g in groups] for i in range(3)]
        np.testing.assert_allclose(entry['centroid_to_samples'], adc,
                                   rtol=1e-5)
        # Fig. 2: the templates lie in the plane, so their 2-D distances are
        # the true ones; every sample's squared distance to a template is
        # that of the projections plus its squared distance to the plane.
        projection = entry['projection']
        flat_w = np.asarray(projection['templates'])
        np.testing.assert_allclose(
            np.linalg.norm(flat_w[:, None] - flat_w[None], axis=-1), dist,
            atol=1e-6)
        span = np.stack([w[1] - w[0], w[2] - w[0]], axis=1)
        coef, *_ = np.linalg.lstsq(span, (feats - w[0]).T, rcond=None)
        off_plane = np.linalg.norm(feats - w[0] - (span @ coef).T, axis=1)
        flat_x = np.asarray(projection['samples'])
        for k in range(3):
            np.testing.assert_allclose(
                np.linalg.norm(flat_x - flat_w[k], axis=1)**2 +
                off_plane**2,
                np.linalg.norm(feats - w[k], axis=1)**2, atol=1e-6)
    for png in ('average_distances.png', 'projection.png'):
        assert_png(osp.join(out, png))
    assert osp.isfile(osp.join(out, 'template_distances.md'))


def test_expected_accuracy(colam_run, tmp_path):
    tool = load_tool('analysis_tools/expected_accuracy')
    out = str(tmp_path / 'expected')
    rows = tool.main([colam_run['config'], colam_run['work_dir'], '--out-dir',
                      out, '--cfg-options', 'train_cfg.max_epochs=1',
                      'train_dataloader.dataset.indices=100'])
    report = json.load(open(osp.join(out, 'expected_accuracy.json')))
    assert [r['name'] for r in report['runs']] == ['epoch_1', 'epoch_2']
    assert report['runs'] == json.loads(json.dumps(rows))
    for r in report['runs']:
        # Each is an ordinary run against the frozen table, no hook.
        cfg = run_own_config(r['work_dir'])
        assert cfg.model.head.soft_label_file == osp.join(
            colam_run['work_dir'], 'soft_labels', f"{r['name']}.npy")
        assert not cfg.get('custom_hooks')
        assert r['accuracy'] == pytest.approx(
            run_own_test_accuracy(r['work_dir']), abs=1e-9)
    assert_png(osp.join(out, 'expected_accuracy.png'))


def test_hyperparameter_grid(colam_run, tmp_path):
    tool = load_tool('analysis_tools/hyperparameter_grid')
    out = str(tmp_path / 'grid')
    tool.main([colam_run['config'], '--intervals', '1', '--num-peers', '2',
               'all', '--out-dir', out, '--cfg-options',
               'train_cfg.max_epochs=2',
               'train_dataloader.dataset.indices=100'])
    lines = list(csv.reader(open(osp.join(out, 'grid.csv'))))
    assert len(lines) == 1 + 2  # header, interval 1 x K in {2, all}
    report = json.load(open(osp.join(out, 'grid.json')))
    assert [(r['interval'], r['num_peers'], r['temperature'])
            for r in report['runs']] == [(1, 2, 2.0), (1, None, 2.0)]
    for line, r in zip(lines[1:], report['runs']):
        hook = run_own_config(r['work_dir']).custom_hooks[0]
        assert (hook.interval, hook.num_peers) == (r['interval'],
                                                   r['num_peers'])
        own = run_own_test_accuracy(r['work_dir'])
        assert r['accuracy'] == pytest.approx(own, abs=1e-9)
        assert float(line[4]) == pytest.approx(own, abs=1e-9)
    assert [s['accuracy_mean'] for s in report['summary']] == [
        r['accuracy'] for r in report['runs']]
    assert_png(osp.join(out, 'grid.png'))
