"""Unpack Fashion-MNIST's IDX .gz files where MMPretrain's FashionMNIST reads.

Usage: python tools/prepare_fashion_mnist.py [--src DIR] [--dst DIR]
"""
import argparse
import gzip
import os
import os.path as osp
import shutil

FILES = ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte',
         't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')


def prepare(src: str, dst: str) -> str:
    """Unpack the four files from ``src`` (``.gz``) into ``dst``."""
    os.makedirs(dst, exist_ok=True)
    for name in FILES:
        target = osp.join(dst, name)
        if osp.isfile(target):
            continue
        for source in (osp.join(src, name + '.gz'),
                       osp.join(dst, name + '.gz')):
            if osp.isfile(source):
                break
        else:
            raise FileNotFoundError(
                f'{name}.gz is in neither {src} nor {dst}: install Debian\'s '
                "package with 'sudo apt-get install dataset-fashion-mnist', "
                'or copy the four Fashion-MNIST .gz files into ' + dst)
        with gzip.open(source, 'rb') as f_in, open(target + '.part',
                                                   'wb') as f_out:
            shutil.copyfileobj(f_in, f_out)
        os.replace(target + '.part', target)
    return dst


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--src', default='/usr/share/datasets/fashion-mnist',
                        help='folder with the .gz files (Debian package)')
    parser.add_argument('--dst', default='data/fashion_mnist',
                        help='folder the configs read')
    args = parser.parse_args()
    print(f'Fashion-MNIST ready in {prepare(args.src, args.dst)}')


if __name__ == '__main__':
    main()
