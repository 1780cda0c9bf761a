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


def read_idx(path):
    """Read an IDX file (as :func:`write_fashion_mnist` writes them) back
    into a uint8 array."""
    with open(path, 'rb') as f:
        _, _, _, ndim = struct.unpack('>BBBB', f.read(4))
        shape = struct.unpack('>' + 'I' * ndim, f.read(4 * ndim))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(shape)


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


CIFAR_LAYOUT = {
    # classes: (folder, train files, test file, meta file, label key,
    #           class-name key of the meta file)
    10: ('cifar-10-batches-py', [f'data_batch_{i}' for i in range(1, 6)],
         'test_batch', 'batches.meta', 'labels', 'label_names'),
    100: ('cifar-100-python', ['train'], 'test', 'meta', 'fine_labels',
          'fine_label_names'),
}


def _cifar_batch(labels, num_classes, name, seed):
    """One batch dict as the CIFAR python pickles hold it (str keys once
    unpickled with ``encoding='latin1'``, images as ``(N, 3072)`` uint8 rows
    of the R, G and B planes)."""
    images = class_images(labels, size=32, channels=3, seed=seed)
    batch = {
        'batch_label': name,
        'data': images.transpose(0, 3, 1, 2).reshape(len(labels), -1),
        'filenames': [f'fake_{seed}_{i}.png' for i in range(len(labels))],
    }
    if num_classes == 10:
        batch['labels'] = [int(label) for label in labels]
    else:
        batch['fine_labels'] = [int(label) for label in labels]
        batch['coarse_labels'] = [int(label) // 5 for label in labels]
    return batch


def write_cifar(root, num_classes=10, num_train=50, num_test=20, seed=0):
    """Write a small CIFAR-10 or CIFAR-100 in the real python-pickle format,
    as MMPretrain's ``CIFAR10``/``CIFAR100(data_root=root)`` read it:
    ``cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}`` or
    ``cifar-100-python/{train,test,meta}``.

    Labels cycle through the classes (every class has samples when there are
    at least ``num_classes`` of them); CIFAR-10's training samples are spread
    over the five batch files. The files cannot match MMPretrain's md5 sums,
    so read them with the test-only datasets of
    ``tests/helpers/unchecked_cifar.py``.

    Args:
        root (str): Folder to write the data set folder into.
        num_classes (int): 10 or 100. Defaults to 10.
        num_train (int): Training samples. Defaults to 50.
        num_test (int): Test samples. Defaults to 20.
        seed (int): Seed of the label order and the noise. Defaults to 0.

    Returns:
        str: ``root``.
    """
    import pickle
    if num_classes not in CIFAR_LAYOUT:
        raise ValueError(f'num_classes={num_classes!r}: CIFAR has 10 or 100')
    folder, train_files, test_file, meta_file, _, names_key = \
        CIFAR_LAYOUT[num_classes]
    folder = osp.join(root, folder)
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)

    def labels_of(count):
        labels = np.arange(count) % num_classes
        rng.shuffle(labels)
        return labels

    train_labels = labels_of(num_train)
    parts = np.array_split(np.arange(num_train), len(train_files))
    batches = [(name, train_labels[part])
               for name, part in zip(train_files, parts)]
    batches.append((test_file, labels_of(num_test)))
    for i, (name, labels) in enumerate(batches):
        batch = _cifar_batch(labels, num_classes, name, seed + i)
        with open(osp.join(folder, name), 'wb') as f:
            pickle.dump(batch, f, protocol=2)
    meta = {names_key: [f'class_{c}' for c in range(num_classes)]}
    if num_classes == 10:
        meta.update(num_cases_per_batch=len(parts[0]), num_vis=32 * 32 * 3)
    else:
        meta['coarse_label_names'] = [f'superclass_{c}' for c in range(20)]
    with open(osp.join(folder, meta_file), 'wb') as f:
        pickle.dump(meta, f, protocol=2)
    return root


def write_imagenet(root, num_classes=1000, used_classes=4, per_class=2,
                   size=40, seed=0):
    """Write a tiny ImageNet in MMPretrain's two on-disk layouts:

    - ``train/<wnid>/<wnid>_<i>.JPEG``: one folder per class (all
      ``num_classes`` of them, sorted as the class indices; only the first
      ``used_classes`` hold images);
    - ``val/ILSVRC2012_val_<n>.JPEG`` listed with their labels in
      ``meta/val.txt`` (the annotation-file layout).

    Returns:
        str: ``root``.
    """
    from PIL import Image
    wnids = [f'n{i:08d}' for i in range(num_classes)]
    labels = np.repeat(np.arange(used_classes), per_class)
    images = class_images(labels, size=size, channels=3, seed=seed)
    for index, (label, image) in enumerate(zip(labels, images)):
        folder = osp.join(root, 'train', wnids[label])
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(image).save(
            osp.join(folder, f'{wnids[label]}_{index}.JPEG'), 'JPEG')
    for wnid in wnids[used_classes:]:
        os.makedirs(osp.join(root, 'train', wnid), exist_ok=True)
    os.makedirs(osp.join(root, 'val'), exist_ok=True)
    os.makedirs(osp.join(root, 'meta'), exist_ok=True)
    lines = []
    for index, (label, image) in enumerate(zip(labels, images), start=1):
        name = f'ILSVRC2012_val_{index:08d}.JPEG'
        Image.fromarray(image).save(osp.join(root, 'val', name), 'JPEG')
        lines.append(f'{name} {label}\n')
    with open(osp.join(root, 'meta', 'val.txt'), 'w') as f:
        f.writelines(lines)
    return root
