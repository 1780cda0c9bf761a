"""Pre-activation ResNet-18/34 for 32x32 images.

He, Zhang, Ren, Sun, "Identity Mappings in Deep Residual Networks", ECCV 2016,
in the CIFAR variant with ImageNet widths (64/128/256/512 channels, 3x3 stem
conv, no max-pool) that mixup, COLAM and most label-regularisation papers use.
"""
import torch.nn as nn
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.registry import MODELS


class PreActBlock(nn.Module):
    """BN-ReLU-conv3x3-BN-ReLU-conv3x3 with an identity (or 1x1) shortcut.

    When the block changes the shape, the shortcut is a 1x1 conv applied to
    the pre-activated input, so both paths start from the same BN-ReLU.
    """

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(
            in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
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
        out = self.conv2(self.relu(self.bn2(out)))
        return out + identity


@MODELS.register_module()
class PreActResNet(BaseBackbone):
    """Pre-activation ResNet for CIFAR.

    A 3x3 conv stem (64 channels, no BN-ReLU: the first block pre-activates),
    four stages of :class:`PreActBlock` with 64/128/256/512 channels, strides
    1/2/2/2, and a final BN-ReLU that closes the last stage. Global pooling is
    left to the neck (``GlobalAveragePooling``), as in ``ResNet_CIFAR``.

    Args:
        depth (int): 18 (blocks 2-2-2-2) or 34 (blocks 3-4-6-3); required,
            as in MMPretrain's ``ResNet``.
        in_channels (int): Channels of the input image. Defaults to 3.
        out_indices (int | Sequence[int]): Stages whose outputs are returned,
            from 0 to 3 (negative indices count from the end).
            Defaults to ``(3, )``.
        frozen_stages (int): Freeze the stem and the first ``frozen_stages``
            stages (no gradient, eval mode kept in ``train()``); -1 freezes
            nothing, 0 only the stem. Defaults to -1.
        init_cfg (dict | list[dict]): Initialization config. Defaults to
            Kaiming for convs and constant 1 for norm layers.

    Returns (forward):
        tuple[Tensor]: one ``(N, C, H, W)`` feature map per stage in
        ``out_indices``, in stage order; a 32x32 input gives 512x4x4 at the
        last stage.
    """

    arch_settings = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}
    stage_channels = (64, 128, 256, 512)

    def __init__(self,
                 depth,
                 in_channels=3,
                 out_indices=(3, ),
                 frozen_stages=-1,
                 init_cfg=[
                     dict(type='Kaiming', layer=['Conv2d']),
                     dict(
                         type='Constant',
                         val=1,
                         layer=['_BatchNorm', 'GroupNorm'])
                 ]):
        super().__init__(init_cfg=init_cfg)
        if depth not in self.arch_settings:
            raise ValueError(f'PreActResNet: depth={depth!r} is not '
                             f'supported; choose one of '
                             f'{tuple(self.arch_settings)}')
        num_stages = len(self.stage_channels)
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        out_indices = tuple(out_indices)
        if not out_indices or any(not -num_stages <= i < num_stages
                                  for i in out_indices):
            raise ValueError(f'PreActResNet: out_indices={out_indices!r} '
                             f'must be non-empty stage indices in '
                             f'[{-num_stages}, {num_stages - 1}]')
        if not -1 <= frozen_stages <= num_stages:
            raise ValueError(f'PreActResNet: frozen_stages={frozen_stages!r} '
                             f'must be in [-1, {num_stages}]')
        self.out_indices = tuple(i % num_stages for i in out_indices)
        self.frozen_stages = frozen_stages

        self.stem = nn.Conv2d(in_channels, 64, 3, padding=1, bias=False)
        self.stages = nn.ModuleList()
        channels = 64
        for index, (num_blocks, out_channels) in enumerate(
                zip(self.arch_settings[depth], self.stage_channels)):
            stride = 1 if index == 0 else 2
            blocks = [PreActBlock(channels, out_channels, stride)]
            blocks += [
                PreActBlock(out_channels, out_channels)
                for _ in range(num_blocks - 1)
            ]
            channels = out_channels
            if index == num_stages - 1:
                blocks += [nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
            self.stages.append(nn.Sequential(*blocks))
        self._freeze_stages()

    def _freeze_stages(self):
        if self.frozen_stages < 0:
            return
        for module in [self.stem, *self.stages[:self.frozen_stages]]:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode=True):
        super().train(mode)
        self._freeze_stages()
        return self

    def forward(self, x):
        x = self.stem(x)
        outs = []
        for index, stage in enumerate(self.stages):
            x = stage(x)
            if index in self.out_indices:
                outs.append(x)
        return tuple(outs)
