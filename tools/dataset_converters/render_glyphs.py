"""Render the glyph data set: 118 classes of Latin letters, digits, symbols
and accented letters, drawn from Debian's font packages, with train,
validation and test splits that share no typeface design.

    python tools/dataset_converters/render_glyphs.py data/glyphs [--install]

writes data/glyphs/{train,val,test}/<class>/<n>.png (MMPretrain's
CustomDataset layout), classes.txt and manifest.json (the packages and
their versions, the families of each split, the fonts left out and why,
the counts). The same command gives the same bytes.
"""
import argparse
import os
import subprocess
import sys

from mmcolam.datasets.glyph_dataset import build_glyph_dataset
from mmcolam.datasets.glyph_fonts import (FONT_PACKAGES, folder_font_files,
                                          package_font_files, package_versions)


def positive_int(option):

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise argparse.ArgumentTypeError(
                f'{option}={text!r} must be an integer >= 1')
        return value

    return parse


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('out_dir', metavar='OUT_DIR',
                        help='an empty or new folder')
    parser.add_argument(
        '--copies', type=positive_int('--copies'), default=3,
        help='augmented images per font and class (default: 3)')
    parser.add_argument(
        '--size', type=positive_int('--size'), default=32,
        help='side of the grey images in pixels (default: 32)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the splits and the augmentation '
                        '(default: 0)')
    parser.add_argument(
        '--install', action='store_true',
        help="install the font packages with apt-get first (as root)")
    parser.add_argument(
        '--font-dir', action='append', metavar='DIR',
        help='render the .ttf/.otf files under DIR (repeatable) instead of '
        "the Debian packages, e.g. matplotlib's mpl-data/fonts/ttf for a "
        'small test version')
    args = parser.parse_args(argv)
    if args.size < 16:
        parser.error(f'--size={args.size} must be >= 16 (a smaller glyph '
                     'loses its accents)')
    if args.install and args.font_dir:
        parser.error('--install installs the packages, which --font-dir '
                     'does not use: give one of them')
    return args


def install_packages():
    if os.geteuid() != 0:
        sys.exit('--install runs apt-get, which needs root: run as root, or '
                 'sudo apt-get install ' + ' '.join(FONT_PACKAGES))
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    subprocess.run(['apt-get', 'update', '-qq'], check=True, env=env)
    subprocess.run(['apt-get', 'install', '-y', '-qq',
                    '--no-install-recommends', *FONT_PACKAGES],
                   check=True, env=env)


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.font_dir:
            fonts = [(path, None)
                     for path in folder_font_files(args.font_dir)]
            sources = dict(font_dirs=args.font_dir)
        else:
            if args.install:
                install_packages()
            files = package_font_files(FONT_PACKAGES)
            fonts = [(path, package) for package, paths in files.items()
                     for path in paths]
            sources = dict(packages=package_versions(FONT_PACKAGES))
        build_glyph_dataset(args.out_dir, fonts, copies=args.copies,
                            size=args.size, seed=args.seed, sources=sources,
                            log=lambda line: print(line, flush=True))
    except (RuntimeError, ValueError) as error:
        sys.exit(str(error))

if __name__ == '__main__':
    main()
