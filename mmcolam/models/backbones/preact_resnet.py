"""Pre-activation ResNet-18/34 for 32x32 images.

He, Zhang, Ren, Sun, "Identity Mappings in Deep Residual Networks", ECCV 2016,
in the CIFAR variant with ImageNet widths (64/128/256/512 channels, 3x3 stem
conv, no max-pool) that mixup, COLAM and most label-regularisation papers use.
"""
import torch.nn as nn
from mmpretrain.registry import MODELS

from mmcolam.argument_checks import check_choice, check_int
from .cifar_backbone import CIFAR_INIT_CFG, CifarBackbone


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
class PreActResNet(CifarBackbone):
    """Pre-activation ResNet for CIFAR.

    A 3x3 conv stem (64 channels, no BN-ReLU: the first block pre-activates),
    four stages of :class:`PreActBlock` with 64/128/256/512 channels, strides
    1/2/2/2, and a final BN-ReLU that closes the last stage. Global pooling is
    left to the neck (``GlobalAveragePooling``), as in ``ResNet_CIFAR``.

    The stage options, freezing and the forward pass (stem, then the
    stages) are :class:`CifarBackbone`'s.

    Args:
        depth (int): 18 (blocks 2-2-2-2) or 34 (blocks 3-4-6-3); required,
            as in MMPretrain's ``ResNet``.
        in_channels (int): Channels of the input image. Defaults to 3.
        base_channels (int): Channels of the stem and the first stage; the
            stages have 1, 2, 4 and 8 times as many. Defaults to 64 (the
            paper's networks); 8 gives the narrow PreActResNet-18 (176k
            parameters) that fits a few thousand Fashion-MNIST images on a
            CPU.
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

    def __init__(self,
                 depth,
                 in_channels=3,
                 base_channels=64,
                 out_indices=(3, ),
                 frozen_stages=-1,
                 init_cfg=CIFAR_INIT_CFG):
        super().__init__(init_cfg=init_cfg)
        check_choice('PreActResNet: depth', depth, tuple(self.arch_settings))
        check_int('PreActResNet: base_channels', base_channels)
        stage_channels = [base_channels * m for m in (1, 2, 4, 8)]
        num_stages = len(stage_channels)
        self._set_stage_options(out_indices, frozen_stages, num_stages)

        self.stem = nn.Conv2d(
            in_channels, base_channels, 3, padding=1, bias=False)
        self.stages = nn.ModuleList()
        channels = base_channels
        for index, (num_blocks, out_channels) in enumerate(
                zip(self.arch_settings[depth], stage_channels)):
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
