from .densenet_bc import DenseNetBC
from .preact_resnet import PreActResNet
from .resnext_cifar import ResNeXtCifar
from .small_convnet import SmallConvNet
from .wide_resnet import WideResNet

__all__ = [
    'DenseNetBC', 'PreActResNet', 'ResNeXtCifar', 'SmallConvNet', 'WideResNet'
]
