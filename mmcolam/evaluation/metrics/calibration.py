"""Calibration of a single-label classifier's predicted scores: the expected
calibration error (Guo et al., On Calibration of Modern Neural Networks,
ICML 2017), with its reliability diagram, and the test negative
log-likelihood.

Both read each data sample's ``pred_score`` (the softmax of the head's
logits, as every MMPretrain ``ClsHead`` predicts) and ``gt_label``.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmpretrain.registry import METRICS

from mmcolam.argument_checks import check_int

#: How far a row of ``pred_score`` may sum from 1 (float32 softmax rounding).
SUM_TOLERANCE = 1e-3

#: The reliability diagram's file in ``out_dir``.
DIAGRAM_FILE = 'reliability_diagram.png'


def scores_and_labels(owner: str, data_samples: Sequence[dict]):
    """The batch's ``pred_score`` (N, C) and ``gt_label`` (N, ), checked:
    every row a probability vector (entries in [0, 1], summing to 1 within
    :data:`SUM_TOLERANCE`), one label per sample, in ``[0, C)``."""
    for sample in data_samples:
        if 'pred_score' not in sample:
            raise ValueError(
                f'{owner} needs each data sample\'s pred_score (the '
                f'softmax of the logits); this one has only {sorted(sample)}')
    scores = torch.stack([s['pred_score'] for s in data_samples]).cpu()
    labels = torch.cat([s['gt_label'].reshape(-1)
                        for s in data_samples]).cpu()
    if not scores.is_floating_point():
        raise ValueError(f'{owner} needs probabilities as pred_score: got '
                         f'{scores.dtype} scores')
    if len(labels) != len(scores):
        raise ValueError(f'{owner} is for single-label classification: got '
                         f'{len(labels)} gt_label values for '
                         f'{len(scores)} samples')
    sums = scores.double().sum(1)
    bad = ~torch.isfinite(sums) | ((sums - 1).abs() > SUM_TOLERANCE) | \
        (scores < 0).any(1) | (scores > 1).any(1)
    if bad.any():
        i = int(bad.nonzero()[0])
        raise ValueError(
            f'{owner} needs probabilities as pred_score (entries in [0, 1], '
            f'each row summing to 1 within {SUM_TOLERANCE}): sample {i} has '
            f'entries in [{scores[i].min():.4g}, {scores[i].max():.4g}] '
            f'summing to {sums[i]:.6g}')
    num_classes = scores.shape[1]
    if ((labels < 0) | (labels >= num_classes)).any():
        raise ValueError(f'{owner}: gt_label values {labels.tolist()} must '
                         f'be class indices in [0, {num_classes})')
    return scores, labels


def reliability_bins(confidences, correct, num_bins: int) -> Dict:
    """Per confidence bin ``b`` of ``num_bins`` equal-width bins
    ``((b - 1)/M, b/M]`` (a confidence on an edge falls in the bin below it,
    as in Guo et al.'s code): the number of samples, their accuracy and mean
    confidence (NaN in empty bins).

    Args:
        confidences (array): Top-1 confidence of each sample, in (0, 1].
        correct (array): Whether each sample's top-1 prediction is right.
        num_bins (int): M.

    Returns:
        dict: ``edges`` (M + 1), ``counts``, ``accuracy``, ``confidence``
        (M each).
    """
    confidences = np.asarray(confidences, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, num_bins + 1)
    index = np.searchsorted(edges, confidences, side='left') - 1
    counts = np.bincount(index, minlength=num_bins)
    with np.errstate(invalid='ignore', divide='ignore'):
        accuracy = np.bincount(index, correct, num_bins) / counts
        confidence = np.bincount(index, confidences, num_bins) / counts
    return dict(edges=edges, counts=counts, accuracy=accuracy,
                confidence=confidence)


def expected_calibration_error(bins: Dict) -> float:
    """``sum_b |B_b| / N * |acc(B_b) - conf(B_b)|`` over the non-empty bins
    of :func:`reliability_bins`, as a fraction."""
    full = bins['counts'] > 0
    gaps = np.abs(bins['accuracy'][full] - bins['confidence'][full])
    return float((bins['counts'][full] * gaps).sum() / bins['counts'].sum())


def reliability_figure(bins: Dict, ece: float):
    """The reliability diagram of :func:`reliability_bins`: above, each
    non-empty bin's accuracy (bars) and mean confidence (dots) against the
    diagonal of perfect calibration; below, the samples per bin, each bar
    labelled with its count.

    Args:
        bins (dict): :func:`reliability_bins`.
        ece (float): The expected calibration error, as a fraction.

    Returns:
        matplotlib.figure.Figure
    """
    from mmcolam.analysis.figures import new_figure

    edges, counts = bins['edges'], bins['counts']
    full = counts > 0
    left, width = edges[:-1][full], np.diff(edges)[full]
    centres = left + width / 2
    fig = new_figure(figsize=(5, 6), layout='constrained')
    top, bottom = fig.subplots(
        2, 1, sharex=True, gridspec_kw=dict(height_ratios=(3, 1)))
    top.bar(left, bins['accuracy'][full], width=width, align='edge',
            color='tab:blue', edgecolor='black', label='accuracy')
    top.plot(centres, bins['confidence'][full], 'o', color='tab:red',
             label='mean confidence')
    top.plot([0, 1], [0, 1], '--', color='gray',
             label='perfect calibration')
    top.set_ylim(0, 1)
    top.set_ylabel('accuracy in the bin')
    top.legend(loc='upper left', fontsize=8)
    top.set_title(f'ECE {100 * ece:.2f} % ({counts.sum()} samples, '
                  f'{len(counts)} equal-width bins)', fontsize=10)
    bars = bottom.bar(left, counts[full], width=width, align='edge',
                      color='tab:gray', edgecolor='black')
    bottom.bar_label(bars, fontsize=7)
    bottom.set_xlim(0, 1)
    bottom.set_ylim(0, 1.25 * counts.max())
    bottom.set_xlabel('top-1 confidence')
    bottom.set_ylabel('samples')
    return fig


@METRICS.register_module()
class ExpectedCalibrationError(BaseMetric):
    """Expected calibration error of the top-1 confidence (Guo et al. 2017),
    in percent (as ``accuracy/top1``).

    The top-1 confidences ``max_c pred_score_c`` of the N samples are put
    into ``num_bins`` equal-width bins ``B_b = ((b - 1)/M, b/M]``, and
    ``ECE = 100 * sum_b |B_b| / N * |acc(B_b) - conf(B_b)|``, with
    ``acc`` the share of the bin's samples whose top-1 class is right and
    ``conf`` their mean confidence. Results are gathered across ranks as
    for every MMEngine metric.

    Args:
        num_bins (int): Number of bins M. Defaults to 15 (Guo et al.).
        out_dir (str, optional): Also write the reliability diagram there,
            as ``reliability_diagram.png`` (overwritten at each
            evaluation). Defaults to None (no diagram).
        collect_device (str): ``'cpu'`` or ``'gpu'``, where results are
            gathered across ranks. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric's name. Defaults to
            None (``'calibration'``: the key is ``'calibration/ece'``).
    """
    default_prefix = 'calibration'

    def __init__(self,
                 num_bins: int = 15,
                 out_dir: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.num_bins = check_int('ExpectedCalibrationError: num_bins',
                                  num_bins)
        if out_dir is not None and not isinstance(out_dir, str):
            raise ValueError(f'ExpectedCalibrationError: out_dir={out_dir!r}'
                             ' must be a folder path (str) or None')
        self.out_dir = out_dir

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep each sample's top-1 confidence and whether it is right."""
        scores, labels = scores_and_labels(type(self).__name__, data_samples)
        confidence, predicted = scores.max(1)
        for conf, right in zip(confidence.tolist(),
                               (predicted == labels).tolist()):
            self.results.append(dict(confidence=conf, correct=right))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        bins = reliability_bins([r['confidence'] for r in results],
                                [r['correct'] for r in results],
                                self.num_bins)
        ece = expected_calibration_error(bins)
        if self.out_dir is not None:
            os.makedirs(self.out_dir, exist_ok=True)
            reliability_figure(bins, ece).savefig(
                osp.join(self.out_dir, DIAGRAM_FILE), dpi=100)
        return dict(ece=100 * ece)


@METRICS.register_module()
class NegativeLogLikelihood(BaseMetric):
    """Mean negative log-likelihood of the true class, ``-log
    pred_score_y`` over the samples, in nats. A score that underflowed to 0
    counts as the smallest normal number of its dtype (87.3 nats in
    float32), so that one sample does not make the mean infinite. Results
    are gathered across ranks as for every MMEngine metric.

    Args:
        collect_device (str): ``'cpu'`` or ``'gpu'``, where results are
            gathered across ranks. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric's name. Defaults to
            None (``'calibration'``: the key is ``'calibration/nll'``).
    """
    default_prefix = 'calibration'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep each sample's ``-log pred_score_y``."""
        scores, labels = scores_and_labels(type(self).__name__, data_samples)
        true = scores.gather(1, labels[:, None].long())[:, 0]
        true = true.clamp(min=torch.finfo(scores.dtype).tiny)
        for value in (-true.double().log()).tolist():
            self.results.append(dict(nll=value))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        return dict(nll=float(np.mean([r['nll'] for r in results])))
