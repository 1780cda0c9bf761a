"""The part the CIFAR backbones share: a ``stem`` followed by ``stages``.

:class:`~mmcolam.models.backbones.PreActResNet`,
:class:`~mmcolam.models.backbones.WideResNet`,
:class:`~mmcolam.models.backbones.ResNeXtCifar` and
:class:`~mmcolam.models.backbones.DenseNetBC` each build ``self.stem`` (one
module) and ``self.stages`` (an ``nn.ModuleList``); this base class checks
and stores ``out_indices`` / ``frozen_stages``, freezes the stem and the first
stages, keeps them frozen in ``train()``, and runs the forward pass; it also
turns a ``depth`` of the form ``step * n + offset`` (``depth_rule``) into the
number of blocks per stage.
"""
from numbers import Integral

from mmpretrain.models.backbones.base_backbone import BaseBackbone

#: Default ``init_cfg`` of the CIFAR backbones: Kaiming for convs and
#: constant 1 for norm layers (MMEngine deep-copies it, so it is never
#: shared between models).
CIFAR_INIT_CFG = [
    dict(type='Kaiming', layer=['Conv2d']),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
]


class CifarBackbone(BaseBackbone):
    """Base class of the CIFAR backbones: ``stem``, then ``stages``.

    A subclass checks its own arguments, calls :meth:`_set_stage_options`
    with its number of stages, builds ``self.stem`` and ``self.stages`` and
    ends its ``__init__`` with ``self._freeze_stages()``. One whose depth
    allows ``n`` blocks in every stage sets ``depth_rule`` and gets ``n``
    from :meth:`_blocks_per_stage`, as MMPretrain's ``ResNet`` gets its
    blocks from ``arch_settings``.

    Returns (forward):
        tuple[Tensor]: the output of every stage in ``self.out_indices``, in
        stage order.
    """

    #: ``(step, offset)``: the supported depths are ``step * n + offset``
    #: with ``n >= 1`` blocks per stage (None: the subclass has its own).
    depth_rule = None

    def _blocks_per_stage(self, depth):
        """``n`` such that ``depth == step * n + offset`` (``depth_rule``).

        Raises:
            ValueError: ``depth`` is not such an integer with ``n >= 1``;
                the message starts with the class name and lists the first
                supported depths.
        """
        step, offset = self.depth_rule
        if isinstance(depth, Integral) and not isinstance(depth, bool):
            blocks, rest = divmod(depth - offset, step)
            if blocks >= 1 and not rest:
                return blocks
        first = ', '.join(str(step * n + offset) for n in range(1, 5))
        raise ValueError(f'{type(self).__name__}: depth={depth!r} is not '
                         f'supported; it must be {step}n + {offset} with '
                         f'n >= 1 ({first}, ...)')

    def _set_stage_options(self, out_indices, frozen_stages, num_stages):
        """Check ``out_indices`` and ``frozen_stages`` against
        ``num_stages`` and store them as ``self.out_indices`` (non-negative,
        a tuple) and ``self.frozen_stages``.

        Raises:
            ValueError: ``out_indices`` is empty or has an index outside
                ``[-num_stages, num_stages - 1]``, or ``frozen_stages`` is
                outside ``[-1, num_stages]``; the message starts with the
                class name.
        """
        name = type(self).__name__
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        out_indices = tuple(out_indices)
        if not out_indices or any(not -num_stages <= i < num_stages
                                  for i in out_indices):
            raise ValueError(f'{name}: out_indices={out_indices!r} '
                             f'must be non-empty stage indices in '
                             f'[{-num_stages}, {num_stages - 1}]')
        if not -1 <= frozen_stages <= num_stages:
            raise ValueError(f'{name}: frozen_stages={frozen_stages!r} '
                             f'must be in [-1, {num_stages}]')
        self.out_indices = tuple(i % num_stages for i in out_indices)
        self.frozen_stages = frozen_stages

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
