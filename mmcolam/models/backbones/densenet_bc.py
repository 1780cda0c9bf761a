"""DenseNet-BC (bottleneck + compression) for 32x32 images.

Huang, Liu, van der Maaten, Weinberger, "Densely Connected Convolutional
Networks", CVPR 2017, in its CIFAR form (three dense blocks).
"""
import math

import torch
import torch.nn as nn
from mmpretrain.registry import MODELS

from mmcolam.argument_checks import check_int, check_number
from .cifar_backbone import CIFAR_INIT_CFG, CifarBackbone


class DenseBottleneckLayer(nn.Module):
    """BN-ReLU-conv1x1 (4k channels)-BN-ReLU-conv3x3 (k channels); the k new
    channels are concatenated to the input."""

    def __init__(self, in_channels, growth_rate):
        super().__init__()
        bottleneck_channels = 4 * growth_rate
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, bottleneck_channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(bottleneck_channels)
        self.conv2 = nn.Conv2d(
            bottleneck_channels, growth_rate, 3, padding=1, bias=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        out = self.conv1(self.relu(self.bn1(x)))
        out = self.conv2(self.relu(self.bn2(out)))
        return torch.cat([x, out], dim=1)


class Transition(nn.Sequential):
    """BN-ReLU-conv1x1 to ``out_channels``, then 2x2 average pooling."""

    def __init__(self, in_channels, out_channels):
        super().__init__(
            nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            nn.AvgPool2d(2))


@MODELS.register_module()
class DenseNetBC(CifarBackbone):
    """DenseNet-BC-``depth`` with growth rate k for CIFAR.

    A 3x3 conv stem with 2k channels, then three stages. Each stage is a dense
    block of ``(depth - 4) / 6`` :class:`DenseBottleneckLayer` followed by a
    :class:`Transition` that keeps ``floor(compression * channels)`` channels
    and halves the resolution; the last stage ends with BN-ReLU instead.
    Global pooling is left to the neck (``GlobalAveragePooling``). The
    defaults give the paper's DenseNet-BC-100 (k=12): 342 output channels.

    The depth check (``depth_rule``), the stage options, freezing and the
    forward pass (stem, then the stages) are :class:`CifarBackbone`'s.

    Args:
        depth (int): Total depth, ``6n + 4`` with ``n >= 1``. Defaults to 100.
        growth_rate (int): Channels k that each layer adds, ``>= 1``.
            Defaults to 12.
        compression (float): Fraction of channels a transition keeps, in
            ``(0, 1]``. Defaults to 0.5.
        in_channels (int): Channels of the input image. Defaults to 3.
        out_indices (int | Sequence[int]): Stages whose outputs are returned,
            from 0 to 2 (negative indices count from the end).
            Defaults to ``(2, )``.
        frozen_stages (int): Freeze the stem and the first ``frozen_stages``
            stages (no gradient, eval mode kept in ``train()``); -1 freezes
            nothing, 0 only the stem. Defaults to -1.
        init_cfg (dict | list[dict]): Initialization config. Defaults to
            Kaiming for convs and constant 1 for norm layers.

    Returns (forward):
        tuple[Tensor]: one ``(N, C, H, W)`` feature map per stage in
        ``out_indices``, in stage order; the defaults on a 32x32 input give
        108x16x16, 150x8x8 and 342x8x8 for stages 0, 1, 2.
    """

    num_stages = 3
    depth_rule = (6, 4)

    def __init__(self,
                 depth=100,
                 growth_rate=12,
                 compression=0.5,
                 in_channels=3,
                 out_indices=(2, ),
                 frozen_stages=-1,
                 init_cfg=CIFAR_INIT_CFG):
        super().__init__(init_cfg=init_cfg)
        layers_per_block = self._blocks_per_stage(depth)
        check_int('DenseNetBC: growth_rate', growth_rate)
        check_number('DenseNetBC: compression', compression, 0, 1,
                     open_low=True)
        num_stages = self.num_stages
        self._set_stage_options(out_indices, frozen_stages, num_stages)

        channels = 2 * growth_rate
        self.stem = nn.Conv2d(in_channels, channels, 3, padding=1, bias=False)
        self.stages = nn.ModuleList()
        for index in range(num_stages):
            layers = []
            for _ in range(layers_per_block):
                layers.append(DenseBottleneckLayer(channels, growth_rate))
                channels += growth_rate
            if index < num_stages - 1:
                out_channels = math.floor(compression * channels)
                layers.append(Transition(channels, out_channels))
                channels = out_channels
            else:
                layers += [nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
            self.stages.append(nn.Sequential(*layers))
        self._freeze_stages()
