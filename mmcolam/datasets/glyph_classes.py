"""The characters of the glyph data set (tools/dataset_converters/
render_glyphs.py): letters, digits, symbols and accented letters, with the
look-alike groups that make it hard, and their folder names."""
import re
import unicodedata

#: Every class, in code-point order (the order of ``classes.txt`` and of
#: MMPretrain's ``CustomDataset``, which sorts the folder names). Left out:
#: characters that only their position on the line tells apart once the
#: glyph is centred (``' , ` _`` against ``" . -``, the space).
CLASSES = tuple(
    sorted('0123456789'
           'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
           'abcdefghijklmnopqrstuvwxyz'
           '!"#$%&()*+-./:;<=>?@[\\]^{|}~'
           '¢£¥§°×'
           'àáâãäåçèéêëïñöøüßÀÇÉÖÜ'))

#: Groups of classes that look alike in some typefaces.
LOOK_ALIKE_GROUPS = (
    '0OoQD°',
    '1lIi|!',
    '5Ss$§',
    '2Zz',
    '8B&',
    '6bG',
    '9gq',
    'uvUVü',
    'xX×',
    'cC¢(',
    'Yy¥',
    'Ee£É',
    'aàáâãäå',
    'eèéêë',
    'oöø',
    'nñ',
    'cç',
    'CÇ',
    'Bß',
)


def class_dir_name(char: str) -> str:
    """The folder name of a class: its code point and a readable ASCII name,
    e.g. ``'U+00E0_a-grave'``, ``'U+0041_A'``, ``'U+0024_dollar-sign'``
    (distinct on case-insensitive file systems too, by the code point).

    Args:
        char (str): One character.
    """
    name = unicodedata.name(char)
    letter = re.fullmatch(r'LATIN (SMALL|CAPITAL) LETTER (.+?)(?: WITH (.+))?',
                          name)
    if letter:
        case, base, mark = letter.groups()
        base = base.lower() if case == 'SMALL' or len(base) > 1 else base
        name = base + ('' if mark is None else ' ' + mark.lower())
    else:
        name = name.lower()
    return f'U+{ord(char):04X}_' + name.replace(' ', '-')
