"""ResNeXt for 32x32 images (ResNeXt-29 8x64d and relatives).

Xie, Girshick, Dollar, Tu, He, "Aggregated Residual Transformations for Deep
Neural Networks", CVPR 2017, section 5.3 and the authors' CIFAR code.
"""
import torch.nn as nn
from mmpretrain.registry import MODELS

from mmcolam.argument_checks import check_int
from .cifar_backbone import CIFAR_INIT_CFG, CifarBackbone


class ResNeXtBottleneck(nn.Module):
    """conv1x1-BN-ReLU, grouped conv3x3-BN-ReLU, conv1x1-BN, add, ReLU.

    The grouped conv has ``cardinality`` groups of ``group_width`` channels
    each. When the block changes the shape, the shortcut is a 1x1 conv + BN.
    """

    def __init__(self, in_channels, out_channels, cardinality, group_width,
                 stride=1):
        super().__init__()
        inner_channels = cardinality * group_width
        self.conv1 = nn.Conv2d(in_channels, inner_channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(inner_channels)
        self.conv2 = nn.Conv2d(
            inner_channels,
            inner_channels,
            3,
            stride,
            padding=1,
            groups=cardinality,
            bias=False)
        self.bn2 = nn.BatchNorm2d(inner_channels)
        self.conv3 = nn.Conv2d(inner_channels, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.shortcut(x))


@MODELS.register_module()
class ResNeXtCifar(CifarBackbone):
    """ResNeXt-``depth`` ``cardinality``x``base_width``d for CIFAR.

    A 3x3 conv-BN-ReLU stem with 64 channels, then three stages of
    ``(depth - 2) / 9`` :class:`ResNeXtBottleneck` with 256/512/1024 output
    channels, strides 1/2/2, whose grouped convs have ``cardinality`` groups
    of ``base_width``, ``2 * base_width`` and ``4 * base_width`` channels.
    Global pooling is left to the neck (``GlobalAveragePooling``). The
    defaults give the paper's ResNeXt-29 8x64d.

    The depth check (``depth_rule``), the stage options, freezing and the
    forward pass (stem, then the stages) are :class:`CifarBackbone`'s.

    Args:
        depth (int): Total depth, ``9n + 2`` with ``n >= 1``. Defaults to 29.
        cardinality (int): Groups of the 3x3 convs, ``>= 1``. Defaults to 8.
        base_width (int): Channels per group in the first stage, ``>= 1``.
            Defaults to 64.
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
        ``out_indices``, in stage order; a 32x32 input gives 1024x8x8 at the
        last stage.
    """

    stage_channels = (256, 512, 1024)
    depth_rule = (9, 2)

    def __init__(self,
                 depth=29,
                 cardinality=8,
                 base_width=64,
                 in_channels=3,
                 out_indices=(2, ),
                 frozen_stages=-1,
                 init_cfg=CIFAR_INIT_CFG):
        super().__init__(init_cfg=init_cfg)
        blocks_per_stage = self._blocks_per_stage(depth)
        check_int('ResNeXtCifar: cardinality', cardinality)
        check_int('ResNeXtCifar: base_width', base_width)
        num_stages = len(self.stage_channels)
        self._set_stage_options(out_indices, frozen_stages, num_stages)

        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 64, 3, padding=1, bias=False),
            nn.BatchNorm2d(64), nn.ReLU(inplace=True))
        self.stages = nn.ModuleList()
        channels = 64
        for index, out_channels in enumerate(self.stage_channels):
            group_width = base_width * 2**index
            stride = 1 if index == 0 else 2
            blocks = [
                ResNeXtBottleneck(channels, out_channels, cardinality,
                                  group_width, stride)
            ]
            blocks += [
                ResNeXtBottleneck(out_channels, out_channels, cardinality,
                                  group_width)
                for _ in range(blocks_per_stage - 1)
            ]
            channels = out_channels
            self.stages.append(nn.Sequential(*blocks))
        self._freeze_stages()
