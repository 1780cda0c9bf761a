"""Fashion-MNIST read straight from its IDX ``.gz`` files, with no
preparation step."""
import gzip
import os
import os.path as osp
import shutil

from mmengine import dist
from mmpretrain.datasets import FashionMNIST
from mmpretrain.registry import DATASETS

#: Where Debian's ``dataset-fashion-mnist`` package puts the files.
DEBIAN_DIR = '/usr/share/datasets/fashion-mnist'
FILES = ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte',
         't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')


def unpack_fashion_mnist(root: str, gz_dir: str = DEBIAN_DIR) -> None:
    """Unpack the four IDX files into ``root`` from their ``.gz`` in ``root``
    or ``gz_dir``; files already unpacked are kept."""
    os.makedirs(root, exist_ok=True)
    for name in FILES:
        target = osp.join(root, name)
        if osp.isfile(target):
            continue
        sources = [osp.join(d, name + '.gz') for d in (root, gz_dir)]
        source = next((s for s in sources if osp.isfile(s)), None)
        if source is None:
            raise FileNotFoundError(
                f'Fashion-MNIST: {name}.gz is in neither {root} nor {gz_dir}: '
                "install Debian's package ('sudo apt-get install "
                "dataset-fashion-mnist') or copy the four .gz files of "
                f'Fashion-MNIST into {root}')
        part = f'{target}.{os.getpid()}.part'
        with gzip.open(source, 'rb') as f_in, open(part, 'wb') as f_out:
            shutil.copyfileobj(f_in, f_out)
        os.replace(part, target)


@DATASETS.register_module()
class FashionMNISTGz(FashionMNIST):
    """MMPretrain's ``FashionMNIST`` that first unpacks the IDX ``.gz`` files
    (from ``data_root`` or ``gz_dir``) into ``data_root``, where
    ``FashionMNIST`` reads them, and reads the split it is given.

    MMPretrain 1.2's MNIST reads the test files only with ``test_mode=True``
    (with ``split='test'`` alone it reads the training files); here
    ``split='test'`` sets it, and ``split='test', test_mode=False`` is an
    error.

    Args:
        split (str): ``'train'`` or ``'test'``. Defaults to 'train'.
        gz_dir (str): A second folder to look for the ``.gz`` files in.
            Defaults to Debian's ``/usr/share/datasets/fashion-mnist``.
        **kwargs: The other arguments of ``FashionMNIST``.
    """

    def __init__(self, *args, split: str = 'train',
                 gz_dir: str = DEBIAN_DIR, **kwargs):
        test_mode = kwargs.pop('test_mode', split == 'test')
        if split == 'test' and not test_mode:
            raise ValueError(
                "FashionMNISTGz: split='test' with test_mode=False would "
                "read the training files (MMPretrain's MNIST picks them by "
                'test_mode): drop test_mode')
        self.gz_dir = gz_dir
        super().__init__(*args, split=split, test_mode=test_mode, **kwargs)

    def load_data_list(self):
        if dist.is_main_process():  # the other ranks wait in FashionMNIST's
            unpack_fashion_mnist(self.data_prefix['root'], self.gz_dir)
        return super().load_data_list()
