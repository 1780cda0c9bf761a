"""Which fonts the glyph data set is rendered from, how their files group
into families and look-alike designs, and which split each design goes to
(tools/dataset_converters/render_glyphs.py)."""
import os
import os.path as osp
import random
import re
import subprocess
from typing import Dict, List, NamedTuple, Optional, Sequence

from fontTools.ttLib import TTFont

#: Debian packages of Latin fonts: serif, sans, monospaced, handwriting-like
#: and display families, each covering the accented letters of Latin-1.
FONT_PACKAGES = (
    'fonts-adf-accanthis', 'fonts-adf-baskervald', 'fonts-adf-berenis',
    'fonts-adf-gillius', 'fonts-adf-universalis', 'fonts-anonymous-pro',
    'fonts-averia-gwf', 'fonts-averia-sans-gwf', 'fonts-averia-serif-gwf',
    'fonts-beteckna', 'fonts-breip', 'fonts-cabin', 'fonts-cantarell',
    'fonts-comfortaa', 'fonts-comic-neue', 'fonts-croscore',
    'fonts-crosextra-caladea', 'fonts-crosextra-carlito',
    'fonts-dancingscript', 'fonts-dejavu-core', 'fonts-dejavu-extra',
    'fonts-dosis', 'fonts-dustin', 'fonts-ebgaramond', 'fonts-fantasque-sans',
    'fonts-femkeklaver', 'fonts-firacode', 'fonts-freefont-ttf',
    'fonts-gfs-artemisia', 'fonts-gfs-didot', 'fonts-go',
    'fonts-goudybookletter', 'fonts-hack', 'fonts-humor-sans',
    'fonts-inconsolata', 'fonts-inter', 'fonts-isabella',
    'fonts-jetbrains-mono', 'fonts-jura', 'fonts-kristi', 'fonts-lato',
    'fonts-league-spartan', 'fonts-liberation2', 'fonts-linuxlibertine',
    'fonts-lobster', 'fonts-manrope', 'fonts-mononoki', 'fonts-noto-mono',
    'fonts-ocr-a', 'fonts-ocr-b', 'fonts-oldstandard', 'fonts-open-sans',
    'fonts-paratype', 'fonts-play', 'fonts-prociono', 'fonts-quicksand',
    'fonts-roboto-unhinted', 'fonts-rufscript', 'fonts-sil-andika',
    'fonts-sil-charis', 'fonts-sil-gentium', 'fonts-sixtyfour',
    'fonts-tuffy', 'fonts-urw-base35', 'fonts-vollkorn',
    'fonts-yanone-kaffeesatz')

#: Font files Pillow renders glyph by glyph (collections and bitmap fonts
#: are left out).
FONT_EXTENSIONS = ('.otf', '.ttf')

#: Families that copy or closely imitate one design go to the same split,
#: so that no test typeface is a clone of a training one.
CLONES = (
    ('Helvetica/Arial-like', r'(Liberation Sans|Arimo|Nimbus Sans|FreeSans)'),
    ('Times-like', r'(Liberation Serif|Tinos|Nimbus Roman|FreeSerif)'),
    ('Courier-like', r'(Liberation Mono|Cousine|Nimbus Mono|FreeMono)'),
    # DejaVu Sans Mono is DejaVu Sans monospaced, and Hack derives from it.
    ('DejaVu Sans', r'(DejaVu Sans|Hack)'),
    ('Gentium', r'Gentium(Alt)?'),
)
#: Words after a family's first word that name a member of the same
#: superfamily (``PT Sans``, ``PT Serif`` and ``PT Mono`` are PT), a width,
#: weight or optical size (``Roboto Condensed`` is Roboto, ``EB Garamond
#: 12`` is EB Garamond), or a format (``Linux Libertine O``).
VARIANT_WORDS = ('Black', 'Bold', 'Book', 'Caption', 'Condensed', 'Display',
                 'ExtraBold', 'ExtraLight', 'Hairline', 'Heavy', 'Light',
                 'Medium', 'Mono', 'NL', 'Narrow', 'O', 'Sans', 'SemiBold',
                 'SemiCondensed', 'Semibold', 'Serif', 'Text', 'Thin',
                 r'No\d+', r'\d+')
#: Families left out by name, and why: lower-case letters drawn as small
#: capitals (their 'a' is an A), and fonts whose letters are not text
#: (Symbol's 'a' is an alpha, Dingbats' a pointing hand, keyboard keys,
#: mathematical alphabets).
EXCLUDED_FAMILIES = (
    (r'\b(SC|Smallcaps|Small ?Caps|Caps|Capitals|Initials)\b',
     'small capitals'),
    (r'\b(Symbols?|Dingbats|D050000L|Keyboard|Math)\b', 'not text'),
)
#: Share of the font files (so, of the images) in each split.
SPLIT_FRACTIONS = (('train', 0.6), ('val', 0.2), ('test', 0.2))


class FontFile(NamedTuple):
    """One font file: its path, its family and style as its name table gives
    them, the design group of the family, and the package it comes from
    (None: a folder given on the command line)."""
    path: str
    family: str
    style: str
    design: str
    package: Optional[str]


def package_font_files(packages: Sequence[str]) -> Dict[str, List[str]]:
    """The font files each installed Debian package ships (``dpkg -L``).

    Args:
        packages (Sequence[str]): Package names.

    Raises:
        RuntimeError: a package is not installed, naming it and the command
            that installs it.
    """
    files = {}
    for package in packages:
        listed = subprocess.run(['dpkg', '-L', package],
                                capture_output=True,
                                text=True)
        if listed.returncode != 0 or not listed.stdout.strip():
            raise RuntimeError(
                f'font package {package!r} is not installed: run '
                'render_glyphs.py with --install, or apt-get install '
                f'{package}')
        files[package] = sorted(
            path for path in listed.stdout.split()
            if path.lower().endswith(FONT_EXTENSIONS) and osp.isfile(path))
    return files


def package_versions(packages: Sequence[str]) -> Dict[str, str]:
    """The installed version of each Debian package (``dpkg-query``)."""
    out = subprocess.run(
        ['dpkg-query', '-W', '-f=${Package}\t${Version}\n', *packages],
        capture_output=True,
        text=True,
        check=True).stdout
    return dict(line.split('\t') for line in out.splitlines())


def folder_font_files(folders: Sequence[str]) -> List[str]:
    """The font files under ``folders``, recursively, sorted.

    Raises:
        ValueError: a folder does not exist.
    """
    files = []
    for folder in folders:
        if not osp.isdir(folder):
            raise ValueError(f'--font-dir={folder!r} is not a folder')
        for root, _, names in os.walk(folder):
            files += [
                osp.join(root, name) for name in names
                if name.lower().endswith(FONT_EXTENSIONS)
            ]
    return sorted(files)


def design_of(family: str) -> str:
    """The design group of a family: its clone group (:data:`CLONES`), or
    its name without the words of :data:`VARIANT_WORDS` after the first."""
    for design, pattern in CLONES:
        if re.match(pattern + r'\b', family):
            return design
    first, *rest = family.split()
    variant = re.compile('(' + '|'.join(VARIANT_WORDS) + ')$')
    return ' '.join([first] + [w for w in rest if not variant.match(w)])


def excluded(family: str) -> Optional[str]:
    """Why a family is left out by its name (:data:`EXCLUDED_FAMILIES`), or
    None."""
    for pattern, reason in EXCLUDED_FAMILIES:
        if re.search(pattern, family, re.IGNORECASE):
            return reason
    return None


def read_font(path: str, package: Optional[str] = None) -> FontFile:
    """The family and style of a font file from its name table (the
    typographic names 16 and 17 where it has them, else 1 and 2)."""
    with TTFont(path, lazy=True) as font:
        names = font['name']
        family = (names.getDebugName(16) or names.getDebugName(1)).strip()
        style = (names.getDebugName(17) or names.getDebugName(2)
                 or '').strip()
    return FontFile(path, family, style, design_of(family), package)


def missing_characters(path: str, chars: Sequence[str]) -> str:
    """The characters of ``chars`` the font's character map lacks, and those
    it draws with the glyph of the other case (a font with one case)."""
    with TTFont(path, lazy=True) as font:
        cmap = font.getBestCmap() or {}
    missing = [c for c in chars if ord(c) not in cmap]
    one_case = [
        c for c in chars if c.islower() and c.upper() in chars
        and ord(c) in cmap and cmap[ord(c)] == cmap.get(ord(c.upper()))
    ]
    return ''.join(missing + one_case)


def assign_splits(fonts: Sequence[FontFile],
                  seed: int) -> Dict[str, List[FontFile]]:
    """Each design group to one split, in :data:`SPLIT_FRACTIONS` of the
    font files: the groups in a seeded random order, largest first, each to
    the split furthest below its share.

    Args:
        fonts (Sequence[FontFile]): The fonts to render.
        seed (int): Seed of the order of equally large groups.

    Raises:
        ValueError: fewer design groups than splits.
    """
    groups: Dict[str, List[FontFile]] = {}
    for font in sorted(fonts):
        groups.setdefault(font.design, []).append(font)
    if len(groups) < len(SPLIT_FRACTIONS):
        raise ValueError(
            f'{len(groups)} font designs ({", ".join(sorted(groups))}) '
            f'cannot make {len(SPLIT_FRACTIONS)} splits that share no '
            'design: give fonts of at least 3 families')
    order = sorted(groups)
    random.Random(seed).shuffle(order)
    order.sort(key=lambda design: -len(groups[design]))
    total = len(fonts)
    splits = {name: [] for name, _ in SPLIT_FRACTIONS}
    for design in order:
        name = max(
            SPLIT_FRACTIONS,
            key=lambda s: (s[1] * total - len(splits[s[0]])) / s[1])[0]
        splits[name] += groups[design]
    return splits
