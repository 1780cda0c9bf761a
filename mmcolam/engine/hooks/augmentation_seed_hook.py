"""AugmentationSeedHook: every random draw of training keyed by where it
happens, so that a resumed run draws what the uninterrupted run drew."""
import hashlib
import random

import numpy as np
import torch
from mmengine import dist
from mmengine.dataset import BaseDataset
from mmengine.hooks import DistSamplerSeedHook
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop
from mmpretrain.registry import HOOKS

# What a seed is for: the first integer of its key.
SAMPLE, EPOCH, ITERATION = range(3)


def key_seed(*key: int) -> int:
    """A 64-bit seed that is a hash (BLAKE2b) of the integers ``key``."""
    text = repr(tuple(int(k) for k in key))  # NumPy integers too
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, 'little')


def seed_generators(seed: int, devices: bool = False) -> None:
    """Seed Python's ``random``, NumPy's global generator (32 bits of
    ``seed``) and torch's CPU generator (what data transforms draw from);
    with ``devices``, torch's CUDA (and other accelerator) generators too."""
    random.seed(seed)
    np.random.seed(seed & 0xFFFFFFFF)
    if devices:
        torch.manual_seed(seed)
    else:
        torch.default_generator.manual_seed(seed)


class SampleKey(int):
    """A sample index that carries the seed of the sample's transforms."""

    def __new__(cls, index: int, seed: int):
        key = super().__new__(cls, index)
        key.seed = seed
        return key

    def __reduce__(self):  # to a dataloader worker
        return SampleKey, (int(self), self.seed)


class SeededSampler:
    """Yields the indices of ``sampler`` as :class:`SampleKey`, seeded by
    (run seed, rank, pass, position in the pass).

    Args:
        sampler (Sampler): The training sampler.
        seed (int): The run's seed.
        rank (int): This process's rank.
    """

    def __init__(self, sampler, seed: int, rank: int):
        self.sampler = sampler
        self.seed = seed
        self.rank = rank
        self.next_pass = 0  # in an epoch loop, the hook sets the epoch

    def __iter__(self):
        this_pass, self.next_pass = self.next_pass, self.next_pass + 1
        for position, index in enumerate(self.sampler):
            yield SampleKey(
                index,
                key_seed(self.seed, SAMPLE, self.rank, this_pass, position))

    def __len__(self):
        return len(self.sampler)


class SeededPipeline:
    """Seeds the CPU generators from the sample's :class:`SampleKey`
    (``results['sample_idx']``, as MMEngine's ``BaseDataset`` passes the
    index), then runs ``pipeline``. An index that is no SampleKey (a sample
    the dataset fetches in place of one its pipeline dropped, or any
    ``dataset[i]`` outside the training loader) draws on from the current
    state.

    Args:
        pipeline (Callable): The dataset's pipeline.
    """

    def __init__(self, pipeline):
        self.pipeline = pipeline

    def __call__(self, results: dict):
        index = results.get('sample_idx')
        if isinstance(index, SampleKey):
            seed_generators(index.seed)
            results['sample_idx'] = int(index)
        return self.pipeline(results)


@HOOKS.register_module()
class AugmentationSeedHook(DistSamplerSeedHook):
    """MMEngine's :class:`DistSamplerSeedHook` (the sampler's epoch), which
    also makes every random draw of training a function of the run's seed
    and of where the draw happens, so that a resumed run (``--resume``, after a
    crash or a kill) repeats the uninterrupted run bit for bit, with random
    augmentation, any ``num_workers``, persistent workers or not, and any
    number of processes.

    - Each training sample's transforms draw from ``random``, NumPy's and
      torch's CPU generators seeded by (run seed, rank, epoch, position of
      the sample in this rank's epoch), in whichever process loads it. In an
      iteration-based loop a pass over the sampler counts as an epoch.
    - Every epoch and every iteration start with ``random``, NumPy's and
      torch's generators (CPU and CUDA) of the training process seeded by
      (run seed, rank, epoch) and (run seed, rank, iteration): batch
      augmentation (Mixup, CutMix), dropout and other draws of the model.

    It also makes each epoch's augmentation new with non-persistent
    dataloader workers: MMEngine's ``worker_init_fn`` seeds a worker alike
    in every epoch, so without this hook each worker repeats its draws.

    The training dataset must be an MMEngine ``BaseDataset`` (as every
    MMPretrain dataset is), not a dataset wrapper, and the loader must batch
    with a batch sampler (``batch_size`` set). The sampler's ``seed``
    becomes the run's (on resume, the checkpoint's; with
    ``randomness.diff_rank_seed`` the sampler keeps its own, and a resumed
    run shuffles anew). An epoch loop resumes exactly from a checkpoint of
    an epoch's end (MMEngine starts an epoch resumed in its middle over).
    Nothing is stored in checkpoints. The hook has no arguments; it takes
    the place of ``default_hooks.sampler_seed``.
    """

    priority = 'VERY_HIGH'  # draws of other hooks' before_train_iter too

    def before_train(self, runner) -> None:
        loop = runner.train_loop
        loader = loop.dataloader
        dataset = loader.dataset
        if not isinstance(dataset, BaseDataset):
            raise TypeError(
                'AugmentationSeedHook seeds the pipeline of an MMEngine '
                'BaseDataset, but the training dataset is '
                f'{type(dataset).__name__}: use it without a dataset wrapper, '
                'or set default_hooks.sampler_seed back to '
                "dict(type='DistSamplerSeedHook')")
        batch_sampler = loader.batch_sampler
        if getattr(batch_sampler, 'sampler', None) is not loader.sampler:
            raise TypeError(
                'AugmentationSeedHook keys the indices that the training '
                "loader's batch sampler draws from its sampler, but "
                f'train_dataloader.batch_size={loader.batch_size!r} and its '
                f'batch sampler is {type(batch_sampler).__name__}: set '
                'batch_size to an integer (no batch_sampler, or one with a '
                'sampler attribute), or set default_hooks.sampler_seed back '
                "to dict(type='DistSamplerSeedHook')")
        self.by_epoch = isinstance(loop, EpochBasedTrainLoop)
        self.rank = dist.get_rank()
        if hasattr(loader.sampler, 'seed') and not runner.cfg.get(
                'randomness', {}).get('diff_rank_seed', False):
            # MMEngine seeds the sampler before a resumed run takes the
            # checkpoint's seed (a config without a seed draws a new one).
            loader.sampler.seed = runner.seed
        self.sampler = SeededSampler(loader.sampler, runner.seed, self.rank)
        batch_sampler.sampler = self.sampler
        dataset.pipeline = SeededPipeline(dataset.pipeline)
        if isinstance(loop, IterBasedTrainLoop):
            # The loop started its loader (and workers) when it was built,
            # before any hook ran: start it again, keyed and seeded.
            if loader._iterator is not None:  # persistent workers
                loader._iterator._shutdown_workers()
                loader._iterator = None
            loop.dataloader_iterator = type(loop.dataloader_iterator)(loader)

    def before_train_epoch(self, runner) -> None:
        super().before_train_epoch(runner)
        if self.by_epoch:  # an iteration loop calls it once, at its start
            self.sampler.next_pass = runner.epoch
        self._seed_process(runner, EPOCH, runner.epoch)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        self._seed_process(runner, ITERATION, runner.iter)

    def _seed_process(self, runner, kind: int, step: int) -> None:
        seed_generators(
            key_seed(runner.seed, kind, self.rank, step), devices=True)
