"""A tiny glyph data set (tools/dataset_converters/render_glyphs.py),
rendered from the DejaVu and STIX fonts that matplotlib ships, so that a
fresh machine with the project's setup has them, for tests."""
import os
import os.path as osp
import shutil

import matplotlib

from mmcolam.datasets.glyph_dataset import build_glyph_dataset
from mmcolam.datasets.glyph_fonts import folder_font_files

MPL_FONTS = osp.join(
    osp.dirname(matplotlib.__file__), 'mpl-data', 'fonts', 'ttf')
#: Four families of three designs (DejaVu Sans in two styles and DejaVu Sans
#: Mono are one), and one that lacks most classes (DejaVu Sans Display).
TINY_FONTS = ('DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSerif.ttf',
              'DejaVuSansMono.ttf', 'STIXGeneral.ttf', 'DejaVuSansDisplay.ttf')


def tiny_font_dir(folder):
    """Copy :data:`TINY_FONTS` into ``folder``; returns it."""
    folder = str(folder)
    os.makedirs(folder, exist_ok=True)
    for name in TINY_FONTS:
        shutil.copy(osp.join(MPL_FONTS, name), folder)
    return folder


def write_glyphs(out_dir, font_dir, copies=1, seed=0):
    """Render the tiny version from ``font_dir`` into ``out_dir`` as
    ``render_glyphs.py OUT_DIR --font-dir FONT_DIR`` does.

    Returns:
        tuple[str, dict]: ``out_dir`` and the manifest.
    """
    fonts = [(path, None) for path in folder_font_files([font_dir])]
    manifest = build_glyph_dataset(
        str(out_dir),
        fonts,
        copies=copies,
        seed=seed,
        sources=dict(font_dirs=[font_dir]),
        log=lambda line: None)
    return str(out_dir), manifest
