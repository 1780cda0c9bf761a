"""One grey channel from whatever image a user has, for the configs of grey
data sets."""
import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS

TO_GRAY = {'bgr': cv2.COLOR_BGR2GRAY, 'rgb': cv2.COLOR_RGB2GRAY}


@TRANSFORMS.register_module()
class Grayscale(BaseTransform):
    """Convert a colour image to one grey channel; a grey image passes
    unchanged.

    A grey data set's arrays are ``(H, W)``, but MMPretrain's
    ``ImageClassificationInferencer`` and ``LoadImageFromFile`` read every
    file, grey or not, as three channels. This turns them into the grey
    image a network with ``in_channels=1`` was trained on: luma
    ``0.299 R + 0.587 G + 0.114 B``, as ``cv2``, PIL's ``convert('L')`` and
    torchvision's ``Grayscale`` compute it, so a grey file read as three
    equal channels gives back its own pixels.

    Required Keys:

    - img

    Modified Keys:

    - img

    Args:
        channel_order (str): Order of a colour image's channels, ``'bgr'``
            (how MMCV reads files) or ``'rgb'``. Defaults to ``'bgr'``.
    """

    def __init__(self, channel_order: str = 'bgr') -> None:
        self.channel_order = channel_order

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 1):
            return results
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(
                f'Grayscale: an image of shape {img.shape} is neither grey '
                '(H, W) or (H, W, 1) nor colour (H, W, 3)')
        results['img'] = cv2.cvtColor(
            np.ascontiguousarray(img), TO_GRAY[self.channel_order])
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(channel_order={self.channel_order!r})'
