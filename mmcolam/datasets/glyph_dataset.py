"""Build the glyph data set: a character read in a typeface never seen
(tools/dataset_converters/render_glyphs.py is its command line)."""
import json
import os
import os.path as osp
import time
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np
import PIL
from PIL import Image, features

from mmcolam.version import __version__
from .glyph_classes import CLASSES, LOOK_ALIKE_GROUPS, class_dir_name
from .glyph_fonts import (SPLIT_FRACTIONS, FontFile, assign_splits, excluded,
                          missing_characters, read_font)
from .glyph_rendering import (AUGMENTATION, RENDERER_VERSION, GlyphRenderer,
                              image_seed)


def usable_fonts(fonts: Sequence[Tuple[str, Optional[str]]],
                 size: int = 32) -> Tuple[list, list]:
    """The fonts that draw every class, and why the others are left out.

    A file is left out if its name table cannot be read, if another file
    has its family and style (the first path is kept), if its family is
    left out by name (:func:`~.glyph_fonts.excluded`: small capitals,
    symbols), or if it lacks a
    class: no entry in its character map, the other case's glyph, or an
    entry that draws nothing.

    Args:
        fonts (Sequence[tuple[str, str | None]]): ``(path, package)`` pairs.
        size (int): Side of the images. Defaults to 32.

    Returns:
        tuple[list[FontFile], list[dict]]: The usable fonts, and one
        ``dict(path, family, style, package, reason)`` per font left out.
    """
    usable, skipped, seen = [], [], {}
    for path, package in sorted(fonts):
        try:
            font = read_font(path, package)
        except Exception as error:  # any file fontTools cannot parse
            skipped.append(dict(path=path, family=None, style=None,
                                package=package,
                                reason=f'unreadable: {error}'))
            continue
        key = (font.family, font.style)
        if key in seen:
            reason = f'duplicate of {seen[key]}'
        elif excluded(font.family):
            reason = excluded(font.family)
        else:
            missing = missing_characters(path, CLASSES)
            if not missing:
                renderer = GlyphRenderer(path, size)
                missing = ''.join(c for c in CLASSES
                                  if renderer.ink(c) is None)
            reason = f'lacks {missing}' if missing else None
        seen.setdefault(key, path)
        if reason is None:
            usable.append(font)
        else:
            skipped.append(dict(path=path, family=font.family,
                                style=font.style, package=package,
                                reason=reason))
    return usable, skipped


def build_glyph_dataset(out_dir: str,
                        fonts: Sequence[Tuple[str, Optional[str]]],
                        copies: int = 3,
                        size: int = 32,
                        seed: int = 0,
                        sources: Optional[dict] = None,
                        log: Callable[[str], None] = print) -> dict:
    """Render the glyph data set into ``out_dir``.

    Writes ``{train,val,test}/<class_dir>/<n>.png`` (MMPretrain's
    ``CustomDataset`` layout; ``n = font_index * copies + copy``, the font's
    index in the split's list of the manifest), ``classes.txt`` (the class
    folders, one a line, in ``CustomDataset``'s order) and
    ``manifest.json``. The splits share no design group
    (:func:`~.glyph_fonts.assign_splits`). The same arguments and fonts give
    the same bytes.

    Args:
        out_dir (str): An empty or new folder.
        fonts (Sequence[tuple[str, str | None]]): ``(path, package)`` of
            each font file to consider.
        copies (int): Augmented images per font and class. Defaults to 3.
        size (int): Side of the images in pixels. Defaults to 32.
        seed (int): Seed of the split assignment and the augmentation.
            Defaults to 0.
        sources (dict, optional): What the fonts came from (packages and
            their versions, or folders), for the manifest. Defaults to None.
        log (Callable[[str], None]): Where progress lines go. Defaults to
            ``print``.

    Returns:
        dict: The manifest.
    """
    if osp.exists(out_dir) and (not osp.isdir(out_dir) or os.listdir(out_dir)):
        raise ValueError(f'OUT_DIR={out_dir!r} exists and is not an empty '
                         'folder: remove it or choose another')
    start = time.time()
    usable, skipped = usable_fonts(fonts, size)
    log(f'{len(usable)} fonts of {len({f.family for f in usable})} families '
        f'draw all {len(CLASSES)} classes; {len(skipped)} font files left '
        f'out ({time.time() - start:.0f} s)')
    splits = assign_splits(usable, seed)
    class_dirs = [class_dir_name(c) for c in CLASSES]
    total, done = len(usable), 0
    pixel_sum = pixel_sq_sum = 0.0
    manifest_splits = {}
    for split, _ in SPLIT_FRACTIONS:
        members = sorted(splits[split],
                         key=lambda f: (f.design, f.family, f.style, f.path))
        for class_dir in class_dirs:
            os.makedirs(osp.join(out_dir, split, class_dir))
        for index, font in enumerate(members):
            renderer = GlyphRenderer(font.path, size)
            name = f'{font.family}/{font.style}'
            for char, class_dir in zip(CLASSES, class_dirs):
                for copy in range(copies):
                    rng = np.random.default_rng(
                        image_seed(seed, name, char, copy))
                    pixels = renderer.render(char, rng)
                    if split == 'train':
                        pixel_sum += float(pixels.sum())
                        pixel_sq_sum += float(
                            np.square(pixels, dtype=np.float64).sum())
                    Image.fromarray(pixels).save(
                        osp.join(out_dir, split, class_dir,
                                 f'{index * copies + copy:05d}.png'))
            done += 1
            if done % 10 == 0 or done == total:
                log(f'[{done}/{total} fonts] {split}: {font.family} '
                    f'{font.style} ({time.time() - start:.0f} s)')
        manifest_splits[split] = dict(
            designs=sorted({f.design
                            for f in members}),
            families=_families(members),
            fonts=[dict(path=f.path, family=f.family, style=f.style,
                        design=f.design, package=f.package)
                   for f in members],
            images=len(members) * len(CLASSES) * copies)
    pixels_per_image = size * size
    train_images = manifest_splits['train']['images']
    mean = pixel_sum / (train_images * pixels_per_image)
    std = (pixel_sq_sum / (train_images * pixels_per_image) - mean**2)**0.5
    usable_families = {f.family for f in usable}
    manifest = dict(
        tool='tools/dataset_converters/render_glyphs.py',
        mmcolam_version=__version__,
        renderer_version=RENDERER_VERSION,
        pillow_version=PIL.__version__,
        freetype_version=features.version('freetype2'),
        seed=seed,
        size=size,
        copies=copies,
        augmentation=AUGMENTATION,
        sources=sources or {},
        classes=[
            dict(dir=d, char=c, codepoint=f'U+{ord(c):04X}')
            for c, d in zip(CLASSES, class_dirs)
        ],
        look_alike_groups=list(LOOK_ALIKE_GROUPS),
        splits=manifest_splits,
        skipped_fonts=skipped,
        skipped_families=sorted({
            s['family']
            for s in skipped if s['family'] is not None
        } - usable_families),
        train_mean=round(mean, 2),
        train_std=round(std, 2),
        images={split: s['images']
                for split, s in manifest_splits.items()},
    )
    with open(osp.join(out_dir, 'classes.txt'), 'w') as f:
        f.write(''.join(d + '\n' for d in class_dirs))
    with open(osp.join(out_dir, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write('\n')
    log(f'{sum(manifest["images"].values())} images in {out_dir} '
        f'({manifest["images"]}) in {time.time() - start:.0f} s')
    return manifest


def _families(fonts: Sequence[FontFile]) -> Dict[str, list]:
    """The styles of each family."""
    families: Dict[str, list] = {}
    for font in fonts:
        families.setdefault(font.family, []).append(font.style)
    return families
