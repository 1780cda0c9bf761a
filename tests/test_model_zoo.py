"""The published weights of the model zoo (configs/colam/metafile.yml,
``Weights:``) load by name through MMPretrain's API and reach, on the real
Fashion-MNIST test set, the accuracy the metafile and README give."""
import os.path as osp

import numpy as np
import pytest
import torch
import yaml
from mmengine.config import Config
from mmpretrain import ImageClassificationInferencer
from mmpretrain.apis import get_model, list_models
from mmpretrain.registry import DATASETS

import mmcolam  # noqa: F401  (SmallConvNet, FashionMNISTGz, the zoo)
from mmcolam.model_zoo import model_zoo_root

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
with open(osp.join(ROOT, 'configs', 'colam', 'metafile.yml')) as f:
    ZOO = [m for m in yaml.safe_load(f)['Models'] if 'Weights' in m]


def test_the_zoo_has_the_benchmark_methods():
    assert sorted(m['Name'] for m in ZOO) == [
        'preact-resnet18-w8_1xb64-colam_fashion-mnist',
        'preact-resnet18-w8_1xb64-hl_fashion-mnist',
        'preact-resnet18-w8_1xb64-ls_fashion-mnist',
        'smallconvnet_1xb128-colam_fashion-mnist',
        'smallconvnet_1xb128-hl_fashion-mnist',
        'smallconvnet_1xb128-ls_fashion-mnist',
    ]


@pytest.fixture(scope='module')
def test_set():
    """The real test set (tools/setup_env.sh installs Debian's
    dataset-fashion-mnist; without it FashionMNISTGz says what to do)."""
    dataset = DATASETS.build(
        dict(type='FashionMNISTGz', split='test',
             data_root=osp.join(ROOT, 'data', 'fashion_mnist'),
             pipeline=[dict(type='PackInputs')]))
    images = np.stack([dataset.get_data_info(i)['img']
                       for i in range(len(dataset))])
    return images, np.asarray(dataset.get_gt_labels())


@pytest.mark.parametrize('model', ZOO, ids=lambda m: m['Name'])
def test_published_weights_reach_their_accuracy(model, test_set):
    images, labels = test_set
    weights = osp.join(ROOT, model['Weights'])
    config = weights[:-len('.pth')] + '.py'
    assert Config.fromfile(config).model.head.type == 'LinearClsHead'
    # By name, as MMPretrain's own models (import mmcolam registers them).
    assert model['Name'] in list_models('*fashion-mnist')
    net = get_model(model['Name'], pretrained=True, device='cpu')
    assert net._metainfo.weights == osp.join(
        model_zoo_root(), model['Weights'])
    net.eval()
    with torch.no_grad():
        scores = torch.cat([
            net(net.data_preprocessor(
                dict(inputs=list(torch.from_numpy(batch).unsqueeze(1))),
                False)['inputs'], mode='tensor')
            for batch in np.array_split(images, 20)
        ])
    accuracy = 100 * (scores.argmax(1).numpy() == labels).mean()
    (result, ) = model['Results']
    assert result['Source'].startswith('ours')
    assert accuracy == pytest.approx(
        result['Metrics']['Top 1 Accuracy'], abs=0.005)
    # MMPretrain's inferencer predicts the same on the first images.
    inferencer = ImageClassificationInferencer(
        model['Name'], pretrained=True, device='cpu')
    predictions = inferencer(list(images[:32, :, :, None]), batch_size=32)
    assert [p['pred_label'] for p in predictions] == \
        scores[:32].argmax(1).tolist()
