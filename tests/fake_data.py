"""Small data sets written in real on-disk formats, for tests."""
import os
import os.path as osp
import struct

import numpy as np


def class_images(labels, size=28, channels=None, seed=0):
    """Learnable uint8 images: each class lights a different horizontal band.

    Args:
        labels (np.ndarray): Integer class of each image.
        size (int): Height and width. Defaults to 28.
        channels (int, optional): Add a trailing channel axis of this size
            (HWC, as CIFAR pickles store after reshaping). Defaults to None.
        seed (int): Seed of the noise. Defaults to 0.
    """
    rng = np.random.default_rng(seed)
    num_classes = int(labels.max()) + 1
    band = max(size // max(num_classes, 1), 1)
    images = rng.integers(0, 60, size=(len(labels), size, size))
    for i, label in enumerate(labels):
        row = (label * band) % size
        images[i, row:row + band, :] += 150
    images = images.clip(0, 255).astype(np.uint8)
    if channels:
        images = np.repeat(images[..., None], channels, axis=-1)
    return images


def _write_idx(path, array):
    array = np.ascontiguousarray(array, dtype=np.uint8)
    with open(path, 'wb') as f:
        # IDX magic: two zero bytes, type 0x08 (uint8), number of dimensions.
        f.write(struct.pack('>BBBB', 0, 0, 8, array.ndim))
        f.write(struct.pack('>' + 'I' * array.ndim, *array.shape))
        f.write(array.tobytes())


def write_fashion_mnist(root, num_train=200, num_test=100, num_classes=10,
                        seed=0):
    """Write unpacked Fashion-MNIST IDX files, as MMPretrain's
    ``FashionMNIST(data_root=root)`` reads them.

    Labels cycle through ``num_classes`` classes, so every class has samples.

    Returns:
        str: ``root``.
    """
    os.makedirs(root, exist_ok=True)
    for split, count in (('train', num_train), ('t10k', num_test)):
        labels = (np.arange(count) % num_classes).astype(np.uint8)
        np.random.default_rng(seed).shuffle(labels)
        images = class_images(labels, seed=seed + len(split))
        _write_idx(osp.join(root, f'{split}-images-idx3-ubyte'), images)
        _write_idx(osp.join(root, f'{split}-labels-idx1-ubyte'), labels)
    return root
