"""One glyph image of the glyph data set, with its render-time augmentation
(tools/dataset_converters/render_glyphs.py)."""
import math
import zlib

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

#: Bump when a change makes the same command render other pixels.
RENDERER_VERSION = 1
#: Glyphs are drawn this many times larger, then box-filtered down.
SUPERSAMPLING = 4
#: Height of the font's 'H' as a share of the image side: every glyph of a
#: font is drawn at one scale, so 'o' stays smaller than 'O' and 'x' than 'X'.
CAP_HEIGHT = 0.5
#: Empty border, in pixels of the output image, that a glyph is shrunk to
#: stay inside before augmentation.
MARGIN = 2
#: Ranges of the augmentation, drawn uniformly per image.
AUGMENTATION = dict(
    rotation_deg=5.0,  # +-
    shear=0.15,  # +-, horizontal (a slant)
    scale=0.1,  # +-, relative
    aspect=0.07,  # +-, relative width / height
    shift_px=1.0,  # +-, each axis
    blur_radius=(0.0, 0.7),  # Gaussian, pixels
    background=(0, 30),  # grey level
    ink=(190, 255),  # grey level
    noise_std=(0.0, 6.0),  # Gaussian, grey levels
)


def image_seed(seed: int, font_name: str, char: str, copy: int) -> list:
    """The seed of one image's augmentation: the run's ``seed``, the font's
    name (``'family/style'``), the character and the copy, so that an image
    does not depend on which other fonts, classes or copies are rendered."""
    return [seed, zlib.crc32(font_name.encode()), ord(char), copy]


class GlyphRenderer:
    """Renders the glyphs of one font as grey ``size`` x ``size`` images,
    white ink on a dark background, centred by their ink's bounding box.

    Every glyph is drawn at the font's scale that makes its 'H'
    :data:`CAP_HEIGHT` of the image high; a glyph larger than the image less
    :data:`MARGIN` (and the largest augmentation scale) is shrunk to fit.

    Args:
        path (str): The font file.
        size (int): Side of the images in pixels. Defaults to 32.
    """

    def __init__(self, path: str, size: int = 32) -> None:
        self.size = size
        probe = ImageFont.truetype(path, 200)
        left, top, right, bottom = probe.getbbox('H')
        font_size = 200 * CAP_HEIGHT * size * SUPERSAMPLING / (bottom - top)
        self.font = ImageFont.truetype(path, max(1, round(font_size)))

    def ink(self, char: str) -> Image.Image:
        """The glyph's ink at the supersampled scale, cropped to its
        bounding box; None where the font draws nothing."""
        left, top, right, bottom = self.font.getbbox(char)
        pad = 4
        canvas = Image.new('L', (right - left + 2 * pad,
                                 bottom - top + 2 * pad))
        ImageDraw.Draw(canvas).text((pad - left, pad - top),
                                    char,
                                    font=self.font,
                                    fill=255)
        box = canvas.getbbox()
        return None if box is None else canvas.crop(box)

    def render(self, char: str, rng: np.random.Generator) -> np.ndarray:
        """One augmented image of ``char``: a small affine transform
        (rotation, slant, scale, aspect, shift), Gaussian blur, random
        background and ink levels and Gaussian noise, all drawn from ``rng``
        (:data:`AUGMENTATION`).

        Returns:
            np.ndarray: ``(size, size)`` uint8.

        Raises:
            ValueError: the font draws nothing for ``char``.
        """
        glyph = self.ink(char)
        if glyph is None:
            raise ValueError(f'the font draws nothing for {char!r}')
        aug = AUGMENTATION
        uniform = rng.uniform
        rotation = math.radians(uniform(-1, 1) * aug['rotation_deg'])
        shear = uniform(-1, 1) * aug['shear']
        scale = 1 + uniform(-1, 1) * aug['scale']
        aspect = 1 + uniform(-1, 1) * aug['aspect']
        shift = uniform(-1, 1, 2) * aug['shift_px'] * SUPERSAMPLING
        blur = uniform(*aug['blur_radius'])
        background = uniform(*aug['background'])
        ink = uniform(*aug['ink'])
        noise_std = uniform(*aug['noise_std'])
        noise = rng.standard_normal((self.size, self.size))

        side = self.size * SUPERSAMPLING
        room = (self.size - 2 * MARGIN) * SUPERSAMPLING / (1 + aug['scale'])
        scale *= min(1.0, room / max(glyph.size))
        cos, sin = math.cos(rotation), math.sin(rotation)
        forward = np.array([[cos, -sin], [sin, cos]]) @ np.array(
            [[1, shear], [0, 1]]) @ np.diag([scale * aspect, scale / aspect])
        inverse = np.linalg.inv(forward)
        # Output pixel p comes from glyph pixel centre + inverse (p - c - t).
        glyph_centre = np.array(glyph.size) / 2
        offset = glyph_centre - inverse @ (np.array([side, side]) / 2 + shift)
        image = glyph.transform((side, side),
                                Image.Transform.AFFINE,
                                (*inverse[0], offset[0], *inverse[1],
                                 offset[1]),
                                resample=Image.Resampling.BILINEAR)
        image = image.reduce(SUPERSAMPLING)
        if blur > 0:
            image = image.filter(ImageFilter.GaussianBlur(blur))
        level = np.asarray(image, dtype=np.float64) / 255
        pixels = background + (ink - background) * level + noise_std * noise
        return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
