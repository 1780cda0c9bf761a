"""ExpectedCalibrationError and NegativeLogLikelihood: a worked example by
hand, bin edges, empty bins, one bin, the reliability diagram, bad input,
two-process evaluation, and a Runner test loop against an independent
computation from the logits."""
import math
import os.path as osp
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from mmengine.config import Config
from mmengine.runner import Runner
from mmpretrain.registry import METRICS
from mmpretrain.structures import DataSample

import mmcolam  # noqa: F401  (registers the metrics)
from mmcolam.evaluation.metrics.calibration import (reliability_bins,
                                                    reliability_figure)
from tests.helpers.runner_config import fashion_mnist_config
from tests.helpers.tool_runs import REPO

# The worked example: 3 classes, so the top-1 confidence is >= 1/3 and the
# first of M = 4 bins, (0, 0.25], stays empty.
#
#  sample  scores               label  top-1 conf  right  -log p(label)
#  0       0.5   0.25  0.25     0      0.5 (edge)  yes    0.6931
#  1       0.4   0.35  0.25     1      0.4         no     1.0498
#  2       0.125 0.75  0.125    1      0.75 (edge) yes    0.2877
#  3       0.3   0.6   0.1      0      0.6         no     1.2040
#  4       0.05  0.05  0.9      2      0.9         yes    0.1054
#  5       1.0   0.0   0.0      0      1.0 (edge)  yes    0
#  6       0.1   0.8   0.1      0      0.8         no     2.3026
#  7       0.7   0.2   0.1      0      0.7         yes    0.3567
SCORES = [[0.5, 0.25, 0.25], [0.4, 0.35, 0.25], [0.125, 0.75, 0.125],
          [0.3, 0.6, 0.1], [0.05, 0.05, 0.9], [1.0, 0.0, 0.0],
          [0.1, 0.8, 0.1], [0.7, 0.2, 0.1]]
LABELS = [0, 1, 1, 0, 2, 0, 0, 0]
# Bins ((b-1)/4, b/4], a confidence on an edge in the bin below it:
#   (0, .25]:   empty
#   (.25, .5]:  samples 0, 1: acc 1/2, conf .45,             2/8 * .05
#   (.5, .75]:  samples 2, 3, 7: acc 2/3, conf 2.05/3 = .6833, 3/8 * 1/60
#   (.75, 1]:   samples 4, 5, 6: acc 2/3, conf 2.7/3 = .9,     3/8 * 7/30
# ECE = .0125 + .00625 + .0875 = .10625.  (Edges counted in the bin above
# would give .13125.)
ECE_4_BINS = 10.625
# One bin: |acc - mean conf| = |5/8 - 5.65/8| = .08125.
ECE_1_BIN = 8.125
# Mean -log p(label): (0.693147 + 1.049822 + 0.287682 + 1.203973 +
# 0.105361 + 0 + 2.302585 + 0.356675) / 8.
NLL = 0.749905591803368


def samples(scores, labels, dtype=torch.float32):
    return [
        DataSample().set_pred_score(torch.tensor(s, dtype=dtype))
        .set_gt_label(label).to_dict()
        for s, label in zip(scores, labels)
    ]


def evaluate(metric, scores=SCORES, labels=LABELS, batch=3, **kwargs):
    metric = METRICS.build(dict(type=metric, **kwargs))
    data = samples(scores, labels)
    for start in range(0, len(data), batch):
        metric.process(None, data[start:start + batch])
    return metric.evaluate(len(data))


def test_ece_of_the_worked_example():
    assert evaluate('ExpectedCalibrationError', num_bins=4) == {
        'calibration/ece': pytest.approx(ECE_4_BINS, rel=1e-6)}


def test_ece_with_one_bin_is_the_gap_of_the_means():
    assert evaluate('ExpectedCalibrationError', num_bins=1)[
        'calibration/ece'] == pytest.approx(ECE_1_BIN, rel=1e-6)


def test_bins_of_the_worked_example():
    confidences = np.array(SCORES, dtype=np.float32).max(1)
    correct = np.array(SCORES).argmax(1) == LABELS
    bins = reliability_bins(confidences, correct, 4)
    np.testing.assert_array_equal(bins['edges'], [0, .25, .5, .75, 1])
    np.testing.assert_array_equal(bins['counts'], [0, 2, 3, 3])
    np.testing.assert_allclose(bins['accuracy'], [np.nan, .5, 2 / 3, 2 / 3])
    np.testing.assert_allclose(bins['confidence'],
                               [np.nan, .45, 2.05 / 3, .9], rtol=1e-6)


def test_confidence_on_an_edge_falls_in_the_bin_below():
    # 0.5 is the edge of (0, .5] and (.5, 1]: in the first bin, with 0.25.
    bins = reliability_bins([0.25, 0.5, 0.75, 1.0], [1, 1, 0, 1], 2)
    np.testing.assert_array_equal(bins['counts'], [2, 2])
    np.testing.assert_array_equal(bins['accuracy'], [1.0, 0.5])


def test_ece_against_a_loop_over_bins_on_random_scores():
    """15 bins (the default), 2,000 samples of 10 classes: against Guo et
    al.'s loop (a mask per bin, lower < conf <= upper), in float64."""
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3, size=(2000, 10))
    scores = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = rng.integers(0, 10, 2000)
    scores32 = scores.astype(np.float32)
    conf, right = scores32.max(1).astype(np.float64), \
        scores32.argmax(1) == labels
    expected = 0.0
    for lower, upper in zip(np.arange(15) / 15, np.arange(1, 16) / 15):
        mask = (conf > lower) & (conf <= upper)
        if mask.any():
            expected += mask.mean() * abs(right[mask].mean() -
                                          conf[mask].mean())
    got = evaluate('ExpectedCalibrationError', scores32.tolist(),
                   labels.tolist(), batch=500)['calibration/ece']
    assert got == pytest.approx(100 * expected, rel=1e-9)
    assert got > 1  # not trivially zero


def test_nll_of_the_worked_example():
    assert evaluate('NegativeLogLikelihood') == {
        'calibration/nll': pytest.approx(NLL, rel=1e-6)}
    independent = np.mean([-math.log(s[y]) for s, y in zip(SCORES, LABELS)])
    assert NLL == pytest.approx(independent, rel=1e-12)


def test_nll_of_a_score_that_underflowed():
    """p(label) = 0 counts as float32's smallest normal number."""
    got = evaluate('NegativeLogLikelihood', [[1.0, 0.0], [0.5, 0.5]], [1, 0])
    expected = (-math.log(np.finfo(np.float32).tiny) + math.log(2)) / 2
    assert got['calibration/nll'] == pytest.approx(expected, rel=1e-9)
    assert -math.log(np.finfo(np.float32).tiny) == pytest.approx(87.3365,
                                                                 abs=1e-4)


def test_reliability_diagram_shows_the_bins(tmp_path):
    evaluate('ExpectedCalibrationError', num_bins=4, out_dir=str(tmp_path))
    image = __import__('matplotlib.image').image.imread(
        tmp_path / 'reliability_diagram.png')
    assert image.shape[:2] == (600, 500)
    bins = reliability_bins(np.array(SCORES).max(1),
                            np.array(SCORES).argmax(1) == LABELS, 4)
    top, bottom = reliability_figure(bins, ECE_4_BINS / 100).axes
    # Only the non-empty bins are drawn: accuracy bars and count labels.
    assert [p.get_height() for p in top.patches] == pytest.approx(
        [.5, 2 / 3, 2 / 3])
    assert [p.get_x() for p in top.patches] == [.25, .5, .75]
    assert [t.get_text() for t in bottom.texts] == ['2', '3', '3']
    assert top.get_title() == 'ECE 10.62 % (8 samples, 4 equal-width bins)'


@pytest.mark.parametrize('num_bins', [0, -3, 2.5, True, '15', None])
def test_bad_num_bins_is_named(num_bins):
    with pytest.raises(ValueError, match=r'ExpectedCalibrationError: '
                       rf'num_bins={num_bins!r} must be an integer >= 1'):
        METRICS.build(dict(type='ExpectedCalibrationError',
                           num_bins=num_bins))


def test_bad_out_dir_is_named():
    with pytest.raises(ValueError, match=r"out_dir=3 must be a folder"):
        METRICS.build(dict(type='ExpectedCalibrationError', out_dir=3))


@pytest.mark.parametrize('metric', ['ExpectedCalibrationError',
                                    'NegativeLogLikelihood'])
@pytest.mark.parametrize('scores, labels, message', [
    ([[2.0, -1.0]], [0], r'sample 0 has entries in \[-1, 2\] summing to 1'),
    ([[0.5, 0.4]], [0], r'summing to 0\.9\b'),
    ([[0.5, float('nan')]], [0], 'summing to nan'),
    ([[0.5, 0.5]], [2], r'gt_label values \[2\] must be class indices in '
     r'\[0, 2\)'),
])
def test_bad_scores_and_labels_are_named(metric, scores, labels, message):
    metric = METRICS.build(dict(type=metric))
    with pytest.raises(ValueError, match=message):
        metric.process(None, samples(scores, labels))


def test_samples_without_scores_or_with_several_labels_are_refused():
    metric = METRICS.build(dict(type='NegativeLogLikelihood'))
    no_score = DataSample().set_pred_label(1).set_gt_label(1).to_dict()
    with pytest.raises(ValueError, match="NegativeLogLikelihood needs each "
                       "data sample's pred_score"):
        metric.process(None, [no_score])
    two = DataSample().set_pred_score(torch.tensor([.5, .5])) \
        .set_gt_label([0, 1]).to_dict()
    with pytest.raises(ValueError, match='single-label classification: got '
                       '2 gt_label values for 1 samples'):
        metric.process(None, [two])


def _two_process_evaluation(rank, port, out_dir, queue):
    """Rank r processes samples r, r + 2, ... of the first 7 of the worked
    example; rank 1's last sample is sample 0 again, as DefaultSampler pads
    an uneven split."""
    torch.distributed.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
        world_size=2)
    order = [0, 2, 4, 6] if rank == 0 else [1, 3, 5, 0]
    data = samples([SCORES[i] for i in order], [LABELS[i] for i in order])
    got = {}
    for cfg in (dict(type='ExpectedCalibrationError', num_bins=4,
                     out_dir=osp.join(out_dir, f'rank{rank}')),
                dict(type='NegativeLogLikelihood')):
        metric = METRICS.build(cfg)
        metric.process(None, data[:2])
        metric.process(None, data[2:])
        got.update(metric.evaluate(7))
    queue.put((rank, got))
    torch.distributed.destroy_process_group()


def test_two_processes_gather_every_sample_once(tmp_path):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    queue = mp.get_context('spawn').SimpleQueue()
    mp.spawn(_two_process_evaluation, args=(port, str(tmp_path), queue),
             nprocs=2)
    results = dict(queue.get() for _ in range(2))
    single = {}
    for metric in ('ExpectedCalibrationError', 'NegativeLogLikelihood'):
        single.update(evaluate(metric, SCORES[:7], LABELS[:7], num_bins=4)
                      if metric == 'ExpectedCalibrationError' else
                      evaluate(metric, SCORES[:7], LABELS[:7]))
    # Without sample 7, by hand: (.25, .5] 2/7 * .05; (.5, .75] samples
    # 2, 3: acc 1/2, conf .675, 2/7 * .175; (.75, 1] 3/7 * 7/30.
    assert single['calibration/ece'] == pytest.approx(
        100 * (2 * .05 + 2 * .175 + 3 * 7 / 30) / 7, rel=1e-6)
    assert results[0] == results[1] == pytest.approx(single, rel=1e-12)
    # Only rank 0 computes, so only it draws the diagram.
    assert osp.isfile(tmp_path / 'rank0' / 'reliability_diagram.png')
    assert not osp.exists(tmp_path / 'rank1')


def test_in_a_runner_test_loop_against_the_logits(tmp_path):
    """Trained one epoch on fake Fashion-MNIST, tested with Accuracy, ECE
    and NLL: ECE from a loop over bins and NLL from the cross-entropy of
    the model's logits, both computed here."""
    cfg = fashion_mnist_config(tmp_path, max_epochs=1)
    cfg['test_evaluator'] = [
        dict(type='Accuracy', topk=1),
        dict(type='ExpectedCalibrationError', num_bins=10,
             out_dir=str(tmp_path / 'diagram')),
        dict(type='NegativeLogLikelihood'),
    ]
    runner = Runner.from_cfg(Config(cfg))
    runner.train()
    metrics = runner.test()
    model = runner.model.eval()
    logits, labels = [], []
    with torch.no_grad():
        for batch in runner.test_dataloader:
            data = model.data_preprocessor(batch, False)
            logits.append(model(data['inputs'], mode='tensor'))
            labels += [int(s.gt_label) for s in data['data_samples']]
    logits, labels = torch.cat(logits).double(), torch.tensor(labels)
    assert len(labels) == 100
    probs = logits.softmax(1)
    conf, right = probs.max(1)[0].numpy(), (probs.argmax(1) ==
                                            labels).numpy()
    ece = sum(
        mask.mean() * abs(right[mask].mean() - conf[mask].mean())
        for mask in ((conf > b / 10) & (conf <= (b + 1) / 10)
                     for b in range(10)) if mask.any())
    assert metrics['accuracy/top1'] == pytest.approx(100 * right.mean())
    assert metrics['calibration/ece'] == pytest.approx(100 * ece, abs=1e-4)
    nll = torch.nn.functional.cross_entropy(logits, labels).item()
    assert metrics['calibration/nll'] == pytest.approx(nll, rel=1e-5)
    assert 0 < nll < 10 and ece > 0
    assert osp.isfile(tmp_path / 'diagram' / 'reliability_diagram.png')


def test_fashion_mnist_configs_evaluate_calibration_beside_accuracy():
    """The base evaluator of every Fashion-MNIST config: accuracy as before,
    ECE with 15 bins and NLL, here on the worked example."""
    root = REPO
    cfg = Config.fromfile(osp.join(
        root, 'configs/baselines/smallconvnet_1xb128-hl_fashion-mnist.py'))
    assert cfg.val_evaluator == cfg.test_evaluator
    metrics = {}
    for metric_cfg in cfg.test_evaluator:
        metric = METRICS.build(metric_cfg)
        metric.process(None, samples(SCORES, LABELS))
        metrics.update(metric.evaluate(len(SCORES)))
    # 15 bins ((b-1)/15, b/15], b = ceil(15 c): 0.5 -> 8, 0.4 -> 6,
    # 0.75 -> 12, 0.6 -> 9, 0.9 -> 14, 1.0 -> 15, 0.7 -> 11; 0.8 is the
    # edge 12/15, but the float32 score 0.8 is 0.800000012 > 12/15: bin 13.
    # One sample a bin, so each adds |right - conf| / 8.
    gaps = [.5, .4, .25, .6, .1, 0, .8, .3]
    assert metrics == {
        'accuracy/top1': pytest.approx(62.5),
        'calibration/ece': pytest.approx(100 * sum(gaps) / 8, rel=1e-6),
        'calibration/nll': pytest.approx(NLL, rel=1e-6)}
