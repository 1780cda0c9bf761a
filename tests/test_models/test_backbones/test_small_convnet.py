"""SmallConvNet: parameter count in closed form, shapes, bad widths."""
import pytest
import torch

from mmcolam.models.backbones import SmallConvNet


def expected_parameters(in_channels, widths):
    # Each stage: a bias-free 3x3 conv and a BatchNorm (weight and bias).
    total = 0
    for width in widths:
        total += 9 * in_channels * width + 2 * width
        in_channels = width
    return total


@pytest.mark.parametrize('in_channels, widths', [(1, (16, 32, 64)),
                                                  (3, (8, 8))])
def test_parameters_and_output(in_channels, widths):
    net = SmallConvNet(in_channels, widths)
    assert sum(p.numel() for p in net.parameters()) == \
        expected_parameters(in_channels, widths)
    # By hand: (9*16 + 32) + (9*16*32 + 64) + (9*32*64 + 128)
    assert expected_parameters(1, (16, 32, 64)) == 176 + 4672 + 18560
    (features, ) = net(torch.randn(2, in_channels, 28, 28))
    assert features.shape == (2, widths[-1])


@pytest.mark.parametrize('widths', [(), (16, 0)])
def test_bad_widths(widths):
    with pytest.raises(ValueError, match=r'widths=.*positive channel'):
        SmallConvNet(1, widths)
