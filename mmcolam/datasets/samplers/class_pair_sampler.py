"""Same-class pairs for class-wise self-knowledge distillation (CS-KD).

The sampler behind :class:`CSKDHead` ("Regularizing Class-wise Predictions
via Self-knowledge Distillation", Yun, Park, Lee, Shin, CVPR 2020). As the
authors' ``PairBatchSampler`` (``alinlab/cs-kd``, ``datasets.py``) does, a
partner is drawn uniformly from all the samples of the anchor's class, the
anchor itself included (probability 1/3 in a class of 3). Their batch puts
its ``n`` anchors first and their ``n`` partners after them; we interleave
them (anchor, partner, anchor, ...): the pairs are the same, only the order
inside the batch differs, and this order needs no knowledge of the batch
size (:class:`CSKDClassifier` runs anchors and partners in two passes as
their code does). Anchors are sharded over the ranks as in mmengine's
``DefaultSampler`` (rank ``r`` of ``world_size`` takes anchors ``r, r +
world_size, ...``, so ranks share none apart from the samples repeated by
``round_up``). Partners are drawn for the whole epoch from the same
generator before sharding, so all ranks agree and the pairs do not depend on
the rank.
"""
import math

import torch
from mmengine.dist import get_dist_info, sync_random_seed
from mmpretrain.registry import DATA_SAMPLERS
from torch.utils.data import Sampler


@DATA_SAMPLERS.register_module()
class ClassPairSampler(Sampler):
    """Yields every index followed by a random index of its class.

    Every epoch visits each sample once as an *anchor*, in the order of a
    permutation drawn from ``seed + epoch`` and sharded over the ranks as in
    ``DefaultSampler``, and puts right after it a *partner*: a sample of its
    class drawn uniformly, the anchor itself included as in the authors'
    code, also when ``shuffle=False``. A batch of even size ``2n`` thus
    holds ``n`` pairs, anchors at even and partners at odd positions, the
    layout :class:`CSKDHead` reads: set ``batch_size`` to twice the anchors
    per step (the CS-KD authors' 128 on CIFAR are ``batch_size=256``) and
    keep it even. An
    epoch has ``2 * len(dataset)`` indices over all ranks; the same seed and
    epoch give the same pairs.

    Args:
        dataset (Sized): The dataset. It must provide ``get_cat_ids(idx)``
            returning exactly one class per sample (every MMPretrain
            single-label dataset does).
        shuffle (bool): Whether to shuffle the anchors. Defaults to True.
        seed (int, optional): Seed of the anchor order and of the partners,
            identical on every rank. Defaults to None (a random seed shared
            by all ranks; the Runner passes its own seed).
        round_up (bool): Whether to repeat samples so that every rank gets
            the same number of anchors. Defaults to True.
    """

    def __init__(self, dataset, shuffle=True, seed=None, round_up=True):
        if not hasattr(dataset, 'get_cat_ids'):
            raise ValueError(
                f'ClassPairSampler: dataset {type(dataset).__name__} has no '
                'get_cat_ids(idx); a dataset that gives one class per '
                'sample is needed')
        if len(dataset) == 0:
            raise ValueError('ClassPairSampler: dataset is empty')
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.round_up = round_up
        self.epoch = 0
        if round_up:
            self.num_anchors = math.ceil(len(dataset) / self.world_size)
            self.total_anchors = self.num_anchors * self.world_size
        else:
            self.num_anchors = math.ceil(
                (len(dataset) - self.rank) / self.world_size)
            self.total_anchors = len(dataset)
        self._index_classes(dataset)

    def _index_classes(self, dataset):
        """Group sample indices by class for O(1) partner draws."""
        labels = []
        for index in range(len(dataset)):
            cat_ids = dataset.get_cat_ids(index)
            if len(cat_ids) != 1 or int(cat_ids[0]) < 0:
                raise ValueError(
                    f'ClassPairSampler: sample {index} has classes '
                    f'{list(cat_ids)}; exactly one class index >= 0 per '
                    'sample is needed')
            labels.append(int(cat_ids[0]))
        self.labels = torch.tensor(labels, dtype=torch.long)
        # Indices sorted by class; a class occupies the slice
        # [class_start, class_start + class_size) of `by_class`.
        self.by_class = torch.sort(self.labels, stable=True).indices
        self.class_size = torch.bincount(self.labels)
        self.class_start = torch.cumsum(self.class_size, 0) - self.class_size

    def draw_partners(self, anchors, generator):
        """A uniformly drawn member of the anchor's class, per anchor.

        Args:
            anchors (Tensor): Dataset indices, shape ``(M,)``.
            generator (torch.Generator): Source of randomness.

        Returns:
            Tensor: Partner indices, shape ``(M,)``.
        """
        classes = self.labels[anchors]
        size = self.class_size[classes]
        # Each member, the anchor included, with probability 1 / size; the
        # minimum guards against u * size rounding up to size.
        position = (torch.rand(len(anchors), generator=generator,
                               dtype=torch.float64) * size).long()
        position = torch.minimum(position, size - 1)
        return self.by_class[self.class_start[classes] + position]

    def __iter__(self):
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        if self.shuffle:
            anchors = torch.randperm(len(self.dataset), generator=generator)
        else:
            anchors = torch.arange(len(self.dataset))
        if self.round_up:
            repeats = math.ceil(self.total_anchors / len(anchors))
            anchors = anchors.repeat(repeats)[:self.total_anchors]
        partners = self.draw_partners(anchors, generator)
        pairs = torch.stack([anchors, partners], dim=1)
        pairs = pairs[self.rank:self.total_anchors:self.world_size]
        return iter(pairs.flatten().tolist())

    def __len__(self):
        """Number of indices this rank yields: two per anchor."""
        return 2 * self.num_anchors

    def set_epoch(self, epoch):
        """Set the epoch, which changes the anchor order and the partners.

        Args:
            epoch (int): Epoch number.
        """
        self.epoch = epoch
