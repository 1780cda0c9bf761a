"""The validation split: class-balanced, disjoint, reproducible."""
import numpy as np
import pytest

from mmcolam.datasets import class_balanced_split

LABELS = np.random.default_rng(0).integers(0, 5, size=500)


def test_split_is_class_balanced_disjoint_and_complete():
    train, val = class_balanced_split(LABELS, 50, seed=3)
    assert np.bincount(LABELS[val], minlength=5).tolist() == [10] * 5
    assert not set(train) & set(val)
    assert sorted(np.concatenate([train, val])) == list(range(500))


def test_same_seed_same_split_other_seed_other_split():
    a = class_balanced_split(LABELS, 50, seed=3)
    b = class_balanced_split(LABELS, 50, seed=3)
    c = class_balanced_split(LABELS, 50, seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[1], c[1])


def test_train_size_keeps_the_first_remaining_samples():
    train_all, val = class_balanced_split(LABELS, 50, seed=1)
    train, val2 = class_balanced_split(LABELS, 50, seed=1, train_size=100)
    assert np.array_equal(train, train_all[:100])
    assert np.array_equal(val, val2)
    train, val = class_balanced_split(LABELS, 0, train_size=30)
    assert np.array_equal(train, np.arange(30)) and len(val) == 0


@pytest.mark.parametrize('kwargs, pattern', [
    (dict(val_size=52), 'val_size=52 must be a multiple of the 5 classes'),
    (dict(val_size=-5), 'val_size=-5'),
    (dict(val_size=5000), 'leave at least one for training'),
    (dict(val_size=50, train_size=0), 'train_size=0 must be an integer >= 1'),
])
def test_bad_sizes_are_rejected(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        class_balanced_split(LABELS, **kwargs)


def test_a_train_size_that_misses_classes_is_rejected():
    """A data set stored class by class (CustomDataset folders): its first
    samples are of the first classes only."""
    sorted_labels = np.repeat(np.arange(5), 100)
    train, _ = class_balanced_split(sorted_labels, 50, train_size=450)
    assert set(sorted_labels[train]) == set(range(5))
    with pytest.raises(ValueError,
                       match=r'train_size=200 .* no sample of classes '
                       r'\[3, 4\]'):
        class_balanced_split(sorted_labels, 50, train_size=200)
