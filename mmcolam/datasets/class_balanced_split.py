"""Hold out a class-balanced validation split from a training set."""
from typing import Optional, Tuple

import numpy as np

from mmcolam.argument_checks import check_int


def class_balanced_subset(labels, size: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``size / C`` random samples of every class, drawn
    with ``seed`` (for a data set stored class by class, where the first
    ``size`` samples would miss classes).

    Args:
        labels (array-like): ``(N,)`` class of every sample.
        size (int): Samples in all, a multiple of the number of classes C.
        seed (int): Seed of the draw. Defaults to 0.
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    num_classes = int(labels.max()) + 1 if len(labels) else 0
    per_class = size // num_classes if num_classes else 0
    if num_classes and (size % num_classes or
                        np.bincount(labels).min() < per_class):
        raise ValueError(
            f'size={size!r} must be a multiple of the {num_classes} classes '
            f'of at most {num_classes} x {np.bincount(labels).min()} (the '
            'smallest class)')
    rng = np.random.default_rng(seed)
    subset = np.concatenate([
        rng.choice(np.flatnonzero(labels == c), per_class, replace=False)
        for c in range(num_classes)
    ]) if per_class else np.zeros(0, dtype=np.int64)
    return np.sort(subset)


def class_balanced_split(labels,
                         val_size: int,
                         seed: int = 0,
                         train_size: Optional[int] = None
                         ) -> Tuple[np.ndarray, np.ndarray]:
    """Split training-sample indices into training and validation indices.

    The validation split holds ``val_size / C`` random samples of every
    class, drawn with ``seed``; the training split is the rest, in dataset
    order, cut to its first ``train_size`` samples. The two never overlap and
    the same labels and seed give the same split.

    Args:
        labels (array-like): ``(N,)`` class of every training sample.
        val_size (int): Validation samples, a multiple of the number of
            classes C (0: no validation split).
        seed (int): Seed of the draw. Defaults to 0.
        train_size (int, optional): Keep the first ``train_size`` of the
            remaining samples; they must hold every class. Defaults to None
            (all of them).

    Returns:
        tuple[np.ndarray, np.ndarray]: sorted training and validation
        indices.
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    num_classes = int(labels.max()) + 1 if len(labels) else 0
    check_int('val_size', val_size, low=0)
    if num_classes and val_size % num_classes:
        raise ValueError(f'val_size={val_size!r} must be a multiple of the '
                         f'{num_classes} classes (the same number per class)')
    per_class = val_size // num_classes if num_classes else 0
    counts = np.bincount(labels, minlength=num_classes)
    if per_class and counts.min() <= per_class:
        raise ValueError(
            f'val_size={val_size} takes {per_class} samples of every class, '
            f'but class {int(counts.argmin())} has only {counts.min()}: '
            'leave at least one for training')
    val = class_balanced_subset(labels, val_size, seed)
    train = np.setdiff1d(np.arange(len(labels)), val)
    if train_size is not None:
        if check_int('train_size', train_size) > len(train):
            raise ValueError(
                f'train_size={train_size!r} must be a positive integer of at '
                f'most {len(train)} (the samples left after validation)')
        train = train[:train_size]
        missing = np.setdiff1d(np.unique(labels), labels[train])
        if len(missing):
            raise ValueError(
                f'train_size={train_size!r} keeps the first {train_size} '
                f'samples in data-set order, which hold no sample of classes '
                f'{missing[:10].tolist()}{" ..." if len(missing) > 10 else ""}'
                ' (a data set stored class by class, e.g. CustomDataset '
                'folders): use a data set in random order, or all of it')
    return train, val
