"""Wide residual networks (WRN-d-k) for 32x32 images.

Zagoruyko, Komodakis, "Wide Residual Networks", BMVC 2016.
"""
import torch.nn as nn
from mmpretrain.registry import MODELS

from mmcolam.argument_checks import check_int, check_number
from .cifar_backbone import CIFAR_INIT_CFG, CifarBackbone


class WideBasicBlock(nn.Module):
    """BN-ReLU-conv3x3-BN-ReLU-dropout-conv3x3 with an identity (or 1x1)
    shortcut.

    When the block changes the shape, the shortcut is a 1x1 conv applied to
    the pre-activated input, as in the authors' code.
    """

    def __init__(self, in_channels, out_channels, stride=1, drop_rate=0.):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(
            in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.dropout = nn.Dropout(drop_rate)
        self.conv2 = nn.Conv2d(
            out_channels, out_channels, 3, padding=1, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(
                in_channels, out_channels, 1, stride, bias=False)

    def forward(self, x):
        activated = self.relu(self.bn1(x))
        identity = x if self.shortcut is None else self.shortcut(activated)
        out = self.conv1(activated)
        out = self.conv2(self.dropout(self.relu(self.bn2(out))))
        return out + identity


@MODELS.register_module()
class WideResNet(CifarBackbone):
    """Wide ResNet WRN-``depth``-``widen_factor`` for CIFAR.

    A 3x3 conv stem with 16 channels, three stages of ``(depth - 4) / 6``
    :class:`WideBasicBlock` with ``16k/32k/64k`` channels (k =
    ``widen_factor``), strides 1/2/2, and a final BN-ReLU that closes the last
    stage. Global pooling is left to the neck (``GlobalAveragePooling``).

    The depth check (``depth_rule``), the stage options, freezing and the
    forward pass (stem, then the stages) are :class:`CifarBackbone`'s.

    Args:
        depth (int): Total depth, ``6n + 4`` with ``n >= 1``. Defaults to 40.
        widen_factor (int): Width multiplier k, ``>= 1``. Defaults to 4.
        drop_rate (float): Dropout probability between the two convs of each
            block, in ``[0, 1)``. Defaults to 0.
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
        ``out_indices``, in stage order; WRN-40-4 on a 32x32 input gives
        256x8x8 at the last stage.
    """

    num_stages = 3
    depth_rule = (6, 4)

    def __init__(self,
                 depth=40,
                 widen_factor=4,
                 drop_rate=0.,
                 in_channels=3,
                 out_indices=(2, ),
                 frozen_stages=-1,
                 init_cfg=CIFAR_INIT_CFG):
        super().__init__(init_cfg=init_cfg)
        blocks_per_stage = self._blocks_per_stage(depth)
        check_int('WideResNet: widen_factor', widen_factor)
        check_number('WideResNet: drop_rate', drop_rate, 0, 1, open_high=True)
        num_stages = self.num_stages
        self._set_stage_options(out_indices, frozen_stages, num_stages)

        self.stem = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        self.stages = nn.ModuleList()
        channels = 16
        for index in range(num_stages):
            out_channels = 16 * 2**index * widen_factor
            stride = 1 if index == 0 else 2
            blocks = [
                WideBasicBlock(channels, out_channels, stride, drop_rate)
            ]
            blocks += [
                WideBasicBlock(out_channels, out_channels, 1, drop_rate)
                for _ in range(blocks_per_stage - 1)
            ]
            channels = out_channels
            if index == num_stages - 1:
                blocks += [nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
            self.stages.append(nn.Sequential(*blocks))
        self._freeze_stages()
