"""A small CNN for 28x28 and 32x32 images (Fashion-MNIST, MNIST, CIFAR)."""
import torch.nn as nn
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.registry import MODELS


def conv_bn_relu(in_channels, out_channels):
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


@MODELS.register_module()
class SmallConvNet(BaseBackbone):
    """Two stages of (conv-BN-ReLU x2, max-pool), then global average pooling.

    The default width gives about 65k parameters: small enough to train on
    Fashion-MNIST on two CPU cores in minutes.

    Args:
        in_channels (int): Channels of the input image. Defaults to 1.
        widths (tuple[int]): Output channels of the two stages.
            Defaults to ``(32, 64)``.
        init_cfg (dict, optional): Initialization config. Defaults to None.

    Returns (forward):
        tuple[Tensor]: one ``(N, widths[-1])`` feature tensor.
    """

    def __init__(self, in_channels=1, widths=(32, 64), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if len(widths) != 2 or min(widths) <= 0:
            raise ValueError(f'SmallConvNet: widths={widths!r} must be two '
                             'positive channel counts, e.g. (32, 64)')
        first, second = widths
        self.stage1 = nn.Sequential(
            conv_bn_relu(in_channels, first), conv_bn_relu(first, first),
            nn.MaxPool2d(2))
        self.stage2 = nn.Sequential(
            conv_bn_relu(first, second), conv_bn_relu(second, second),
            nn.MaxPool2d(2))
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        x = self.stage2(self.stage1(x))
        return (self.pool(x).flatten(1), )
