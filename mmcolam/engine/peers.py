"""Where SoftLabelHook's peers come from: the training data's checks, the
resample pass and the online mode's share of an epoch."""
import copy
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine import dist
from mmengine.dataset import Compose, DefaultSampler
from mmengine.optim import AmpOptimWrapper
from mmengine.runner.amp import autocast
from mmpretrain.registry import TRANSFORMS
from torch.utils.data import DataLoader, Subset

from mmcolam.soft_labels import PeerStatistics, draw_peers


def training_labels(dataset, num_classes: int, preprocessor_classes,
                    needs_labels: bool, logger) -> Optional[np.ndarray]:
    """The class of every training sample, checked against the head's
    ``num_classes`` (and the data preprocessor's); None where the dataset
    cannot tell and ``needs_labels`` is False (online peers)."""
    classes = getattr(dataset, 'metainfo', {}).get('classes')
    if classes is not None and len(classes) != num_classes:
        raise ValueError(
            f'model.head.num_classes={num_classes} disagrees with the '
            f'training dataset, which has {len(classes)} classes')
    if preprocessor_classes not in (None, num_classes):
        raise ValueError(
            f'model.data_preprocessor.num_classes={preprocessor_classes} '
            f'disagrees with model.head.num_classes={num_classes}')
    if not hasattr(dataset, 'get_gt_labels'):
        if needs_labels:
            raise TypeError(
                f'peer_mode=\'resample\' needs the class of every training '
                f'sample, but {type(dataset).__name__} has no '
                "get_gt_labels(): use peer_mode='online'")
        return None
    labels = np.asarray(dataset.get_gt_labels()).reshape(-1)
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        raise ValueError(
            f'training label {int(labels[bad][0])} (sample '
            f'{int(np.flatnonzero(bad)[0])}) is outside [0, {num_classes}) '
            f'of model.head.num_classes={num_classes}')
    empty = np.flatnonzero(np.bincount(labels, minlength=num_classes) == 0)
    if len(empty):
        logger.warning(f'SoftLabelHook: classes {empty.tolist()} have no '
                       'training samples; their soft labels stay one-hot')
    return labels


def peer_dataset(cfg, dataset, pipeline: Optional[Sequence] = None):
    """The training set with ``pipeline`` (default: the config's test, else
    val, pipeline) instead of its own; it shares the training set's data."""
    if pipeline is None:
        for name in ('test_dataloader', 'val_dataloader'):
            loader_cfg = cfg.get(name) or {}
            pipeline = loader_cfg.get('dataset', {}).get('pipeline')
            if pipeline is not None:
                break
    if pipeline is None:
        raise ValueError(
            "peer_mode='resample' runs the peers through the test pipeline, "
            'but the config has no test_dataloader or val_dataloader with a '
            'dataset pipeline: set peer_pipeline')
    if not hasattr(dataset, 'pipeline'):
        raise TypeError(
            f'{type(dataset).__name__} has no pipeline to swap for the '
            "peers' test pipeline: use peer_mode='online'")
    peers = copy.copy(dataset)
    peers.pipeline = Compose(
        [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline])
    return peers


def collate_peers(batch: Sequence[dict]) -> Tuple[dict, torch.Tensor]:
    """Collate packed peers into one input tensor (a list where their shapes
    differ) and one label tensor.

    Done in the loader's worker, so a batch crosses to the main process as
    two tensors; MMEngine's ``pseudo_collate`` sends two per sample, each
    through its own file-descriptor handshake (about 0.5 ms apiece).

    Args:
        batch (Sequence[dict]): Samples packed by ``PackInputs``, with
            ``inputs`` and a single-label ``data_samples``.

    Returns:
        tuple[dict, Tensor]: ``dict(inputs=...)`` for the data preprocessor,
        and the ``(N,)`` labels.
    """
    inputs = [sample['inputs'] for sample in batch]
    if all(x.shape == inputs[0].shape for x in inputs):
        inputs = torch.stack(inputs)
    labels = torch.cat([sample['data_samples'].gt_label for sample in batch])
    return dict(inputs=inputs), labels


@torch.no_grad()
def resample_statistics(model, dataset, labels: np.ndarray,
                        num_peers: Optional[int], seed,
                        stats: PeerStatistics, batch_size: int,
                        num_workers: int, optim_wrapper) -> PeerStatistics:
    """Run ``num_peers`` random samples of every class (drawn from ``seed``,
    :func:`~mmcolam.soft_labels.draw_peers`), this rank's share of them,
    through ``model`` in eval mode, adding their logits to ``stats``.

    Under DDP every rank first takes rank 0's buffers (BatchNorm statistics),
    which are the ones checkpoints hold, so that a resumed run computes the
    same statistics.
    """
    peers = draw_peers(labels, stats.num_classes, num_peers, seed)
    rank, world_size = dist.get_dist_info()
    if world_size > 1:
        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)
    loader = DataLoader(
        Subset(dataset, peers[rank::world_size].tolist()),
        batch_size=batch_size,
        num_workers=num_workers,
        collate_fn=collate_peers)
    amp = isinstance(optim_wrapper, AmpOptimWrapper)
    was_training = model.training
    model.eval()
    for data, peer_labels in loader:
        data = model.data_preprocessor(data, False)
        with autocast(
                enabled=amp, dtype=optim_wrapper.cast_dtype if amp else None):
            logits = model(**data, mode='tensor')
        stats.update(logits, peer_labels.to(logits.device))
    model.train(was_training)
    return stats


def real_samples(sampler) -> Optional[int]:
    """This rank's samples in an epoch of a ``DefaultSampler`` before the
    repeated ones it pads the epoch with (global positions past the
    dataset's end); None for other samplers, which do not pad."""
    if not (isinstance(sampler, DefaultSampler) and sampler.round_up):
        return None
    return len(range(sampler.rank, len(sampler.dataset), sampler.world_size))
